/**
 * Writing first is a ban risk: WhatsApp watches numbers that message people who never
 * wrote to them. A person "has written to us" when the inbound side recorded their chat-key
 * choice (`…:chatkey:<jid>`, inbound-identity.ts — set on every message from a person and
 * never expired, so chats from before this gate count too). Sending to anyone else is
 * refused unless the account may write first — one rule for the whole connector, asked
 * here at send time (the outbound API asks it too when the message is accepted): the
 * account setting `mayWriteFirst` wins, WHATSAPP_MAY_WRITE_FIRST is the default — and then
 * such first messages are paced per account per hour and per day (fixed windows in Redis).
 * Groups are not gated (we are a member; nobody is contacted cold).
 */
import type { Redis } from 'ioredis';
import { RemoteRefusedError, UnreachableError } from '../../core/index.ts';
import { accountKeyPrefix, accountKeys } from './redis-keys.ts';

export interface FirstContactOptions {
  /** May this account write first? (the composition root: account settings over WHATSAPP_MAY_WRITE_FIRST). Wins over `accounts`. */
  mayWriteFirst?: (account: string) => Promise<boolean>;
  /** Accounts that may write first when no `mayWriteFirst` is given (default none). */
  accounts?: string[];
  /** First messages per account per hour / per day (defaults 5 and 20). */
  perHour?: number;
  perDay?: number;
}

export class FirstContactGate {
  private readonly allowed: Set<string>;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly o: FirstContactOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.allowed = new Set(o.accounts ?? []);
  }

  /** Throws when a message to `jid` must not go out (now); resolves when it may. */
  async check(account: string, jid: string): Promise<void> {
    if (jid.endsWith('@g.us')) return;
    const wrote = await this.redis.exists(accountKeys(this.prefix, account).chatKey(jid));
    if (wrote) return;
    const allowed = this.o.mayWriteFirst ? await this.o.mayWriteFirst(account) : this.allowed.has(account);
    if (!allowed) {
      throw new RemoteRefusedError(
        'whatsapp_first_contact_refused',
        `WhatsApp account ${account} may not write first to ${jid.split('@')[0]}: this person never wrote to it ` +
          '(writing first risks a ban; allow it with the account setting mayWriteFirst or WHATSAPP_MAY_WRITE_FIRST).',
        { httpStatus: 403, retryable: false },
      );
    }
    const t = this.now();
    const hour = Math.floor(t / 3_600_000);
    const day = Math.floor(t / 86_400_000);
    const base = `${accountKeyPrefix(this.prefix, account)}firstcontact:`;
    const res = await this.redis
      .multi()
      .incr(`${base}h:${hour}`)
      .expire(`${base}h:${hour}`, 7200)
      .incr(`${base}d:${day}`)
      .expire(`${base}d:${day}`, 2 * 86_400)
      .exec();
    const inHour = Number(res?.[0]?.[1] ?? 0);
    const inDay = Number(res?.[2]?.[1] ?? 0);
    const perHour = this.o.perHour ?? 5;
    const perDay = this.o.perDay ?? 20;
    if (inHour > perHour || inDay > perDay) {
      // give the slot back: this message did not go out
      await this.redis.multi().decr(`${base}h:${hour}`).decr(`${base}d:${day}`).exec();
      const retryAfterMs = inDay > perDay ? (day + 1) * 86_400_000 - t : (hour + 1) * 3_600_000 - t;
      throw new UnreachableError(
        'whatsapp_first_contact_paced',
        `WhatsApp account ${account} has sent its ${inDay > perDay ? `${perDay} first messages today` : `${perHour} first messages this hour`}; ` +
          'this one waits for the next slot.',
        { retryAfterMs },
      );
    }
  }
}
