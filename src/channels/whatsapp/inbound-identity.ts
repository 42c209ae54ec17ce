/**
 * One customer, one chat key. WhatsApp addresses a person by phone-number JID
 * (`<digits>@s.whatsapp.net`, "PN") or by LID (`<digits>@lid`), and may switch between
 * them. The rule (docs/whatsapp.md):
 *
 *  1. The first time we see a person, the chat key uses the PN JID when we know it (from
 *     the message's `remoteJidAlt`/`participantAlt`, or Baileys' `lid-mapping` keys in our
 *     auth state), otherwise the LID JID.
 *  2. That choice is recorded in Redis for every address we know of the person
 *     (`…:chatkey:<jid>` → chosen jid, SET NX: the first record wins) and learned later
 *     addresses are recorded to the same choice. A record is never changed, so the chat
 *     key never changes when the person switches between PN and LID.
 */
import { isLidUser, isPnUser, jidNormalizedUser } from '@whiskeysockets/baileys';
import type { Redis } from 'ioredis';
import { accountKeys, type AccountKeys } from './redis-keys.ts';

/** PN ↔ LID lookups (in production: Baileys' `lid-mapping` keys in our Redis auth state). */
export interface LidPnMapping {
  pnForLid(lidJid: string): Promise<string | null>;
  lidForPn(pnJid: string): Promise<string | null>;
}

export interface ResolvedPerson {
  /** The jid the chat key / sender id is built on. */
  stableJid: string;
  pn: string | null;
  lid: string | null;
  /** `+<digits>` when the PN is known. */
  phone: string | null;
  /** Set when this resolution found two chat keys of one person and merged the later into the earlier. */
  merged?: ChatMerge;
}

/** Chat-key jid `from` now flows under `into` (both are jids of the chat key's last part). */
export interface ChatMerge {
  from: string;
  into: string;
}

/** A mapping read straight from Baileys' `lid-mapping` keys (`<pnUser>` → lidUser, `<lidUser>_reverse` → pnUser). */
export function lidMappingFromKeys(keys: {
  get(type: 'lid-mapping', ids: string[]): Promise<{ [id: string]: string }> | { [id: string]: string };
}): LidPnMapping {
  const user = (jid: string): string => jidNormalizedUser(jid).split('@')[0];
  return {
    async pnForLid(lidJid) {
      const u = user(lidJid);
      const got = await keys.get('lid-mapping', [`${u}_reverse`]);
      const pnUser = got[`${u}_reverse`];
      return pnUser ? `${pnUser}@s.whatsapp.net` : null;
    },
    async lidForPn(pnJid) {
      const u = user(pnJid);
      const got = await keys.get('lid-mapping', [u]);
      const lidUser = got[u];
      return lidUser ? `${lidUser}@lid` : null;
    },
  };
}

export class ChatIdentity {
  private readonly keys: AccountKeys;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    account: string,
    private readonly mapping: LidPnMapping,
  ) {
    this.keys = accountKeys(prefix, account);
  }

  /**
   * The stable identity of a person addressed by `jid` (PN or LID), `alt` being the other
   * address when the message carries it. Other jids (groups) are returned normalized.
   */
  async resolve(jid: string, alt?: string | null): Promise<ResolvedPerson> {
    const primary = jidNormalizedUser(jid) || jid;
    const other = alt ? jidNormalizedUser(alt) || null : null;
    let pn = isPnUser(primary) ? primary : other && isPnUser(other) ? other : null;
    let lid = isLidUser(primary) ? primary : other && isLidUser(other) ? other : null;
    if (!pn && !lid) return { stableJid: primary, pn: null, lid: null, phone: null };
    if (lid && !pn) pn = await this.mapping.pnForLid(lid);
    if (pn && !lid) lid = await this.mapping.lidForPn(pn);

    const known = [primary, ...[pn, lid].filter((j): j is string => !!j && j !== primary)];
    const records = await this.redis.mget(...known.map((j) => this.keys.chatKey(j)));
    const distinct = [...new Set(records.filter((r): r is string => !!r))];
    let merged: ChatMerge | undefined;
    if (distinct.length > 1 && pn && lid) {
      // seen first by one address, later by the other without a mapping: two chat keys
      merged = (await this.link(pn, lid)) ?? undefined;
    }
    let stable =
      merged?.into ??
      (distinct.length > 1 ? await this.redis.get(this.keys.chatKey(primary)) : null) ??
      records.find((r): r is string => !!r) ??
      null;
    if (!stable) {
      stable = pn ?? lid ?? primary;
      await this.redis.set(this.keys.born(stable), String(Date.now()), 'NX');
    }
    // remember the choice for every address we know; the first record wins
    const multi = this.redis.multi();
    for (const j of known) multi.set(this.keys.chatKey(j), stable, 'NX');
    multi.get(this.keys.chatKey(primary));
    const results = await multi.exec();
    const winner = results?.[results.length - 1]?.[1];
    if (typeof winner === 'string') stable = winner;
    // the recorded PN is a mapping we learned earlier even if neither side knows it now
    if (!pn && isPnUser(stable)) pn = stable;
    return { stableJid: stable, pn, lid, phone: pn ? `+${pn.split('@')[0]}` : null, ...(merged ? { merged } : {}) };
  }

  /**
   * A PN↔LID mapping became known (`lid-mapping.update`, `remoteJidAlt`). When each address
   * already has its own chat key, the later one is merged into the earlier (by the time each
   * was chosen; PN first when that is unknown): both addresses point to the earlier key from
   * now on. Returns the merge, or null when there was nothing to merge.
   */
  async link(pnJid: string, lidJid: string): Promise<ChatMerge | null> {
    const pn = jidNormalizedUser(pnJid) || pnJid;
    const lid = jidNormalizedUser(lidJid) || lidJid;
    const [rp, rl] = await this.redis.mget(this.keys.chatKey(pn), this.keys.chatKey(lid));
    if (!rp && !rl) return null;
    if (!rp || !rl) {
      await this.redis.set(this.keys.chatKey(rp ? lid : pn), (rp ?? rl)!, 'NX');
      return null;
    }
    if (rp === rl) return null;
    const [bp, bl] = await this.redis.mget(this.keys.born(rp), this.keys.born(rl));
    const into = bp && bl ? (Number(bp) <= Number(bl) ? rp : rl) : isPnUser(rp) ? rp : rl;
    const from = into === rp ? rl : rp;
    // SET NX on `merged`: of two instances racing, one decides, the other follows it
    const won = await this.redis.set(this.keys.merged(from), into, 'NX');
    const target = won ? into : ((await this.redis.get(this.keys.merged(from))) ?? into);
    await this.redis
      .multi()
      .set(this.keys.chatKey(pn), target)
      .set(this.keys.chatKey(lid), target)
      .set(this.keys.chatKey(from), target)
      .exec();
    return won ? { from, into: target } : null;
  }
}
