/**
 * The traffic and the checks the failover tests share (Sentinel and Cluster): customers
 * write steadily on the emulated Bot API while the API sends replies, the test kills a
 * Redis primary a third of the way in, and afterwards everything is compared with what was
 * sent: what 1C holds per chat (once, in the customers' order, with its seqs), what never
 * reached it (and whether the lane still remembers it), and whether every accepted outbound
 * message reached the customer, once.
 */
import { randomBytes } from 'node:crypto';
import { until } from '../helpers/redis.ts';
import { storedOf, type TestStack } from '../helpers/stack.ts';

export interface FailoverTrafficOptions {
  ts: TestStack;
  chats: number;
  /** Customer messages per chat, the warm-up message included. */
  perChat: number;
  /** Outbound ids start with this. */
  tag: string;
  /**
   * Measures what it needs and kills the primary (kill -9); gets the chat keys and resolves,
   * once the primary is killed, with the keys whose lanes were on it.
   */
  kill(keys: string[]): Promise<string[]>;
  /** Polled after the kill until true: the replica is the primary now. */
  promoted(): Promise<boolean>;
  /** How long to wait for the promotion and for everything to settle (default 30 s / 60 s). */
  promotionTimeoutMs?: number;
  settleTimeoutMs?: number;
  /** What to print when something does not arrive: the state behind these chat keys. */
  diagnose?(keys: string[]): Promise<string>;
}

/** One chat after the run: what was sent, what 1C holds, what is missing. */
export interface ChatOutcome {
  key: string;
  /** Ids of the customer messages in the order the customer wrote them. */
  sent: string[];
  /** What 1C holds, in arrival order. */
  stored: { id: string; seq: number | null }[];
  /** Sent, not in 1C: with when it was written and whether the lane still knows the id. */
  missing: { id: string; sentAt: number; known: boolean }[];
  /** In 1C, but the lane has no record of the id any more (its append was lost after delivery). */
  forgotten: { id: string; sentAt: number }[];
  /** Is every message 1C holds in the order the customer wrote them? */
  inOrder: boolean;
}

export interface FailoverRun {
  keys: string[];
  chats: ChatOutcome[];
  killedAt: number;
  promotedAt: number;
  /** When 1C received the first message after the kill of a chat whose lane was on the killed primary. */
  resumedAt: number;
  /** When Telegram had every update confirmed and the inbound lane was empty. */
  settledAt: number;
  inbound: number;
  outbound: number;
  /** Accepted outbound ids that reached the customer more than once. */
  outboundRepeats: string[];
  /** Messages 1C answered `duplicate` (a redelivery after a lost acknowledgement). */
  onecDuplicates: number;
}

/**
 * Runs the traffic: a warm-up message each way per chat (so every chat's lane exists and
 * 1C answers), then `perChat − 1` rounds of one message per chat, an outbound message per
 * chat every 4th round, and the kill at a third. Resolves when everything settled and the
 * outbound messages are delivered (or throws when they do not within the timeouts).
 */
export async function runFailoverTraffic(o: FailoverTrafficOptions): Promise<FailoverRun> {
  const { ts } = o;
  const { telegram, bots, onec, config } = ts.stack;
  const bot = bots[0];
  const chats = Array.from({ length: o.chats }, (_, i) => telegram.chat(bot.token, { firstName: `Customer ${i}` }));
  const keys = chats.map((c) => `tg:${bot.username}:${c.id}`);
  const sent: string[][] = keys.map(() => []);
  const sentAt = new Map<string, number>();
  const write = (i: number, n: number): void => {
    const id = `${keys[i]}:${chats[i].text(`message ${i}.${n}`).messageId}`;
    sent[i].push(id);
    sentAt.set(id, Date.now());
  };

  const api = `${ts.connector.url}/api/v1/messages`;
  const headers = { authorization: `Bearer ${config.apiToken}`, 'content-type': 'application/json' };
  const accepted: string[] = [];
  // One outbound message, resent with the same id until the API answers (idempotent by id).
  const sendOutbound = async (chat: number, n: number): Promise<void> => {
    const id = `${o.tag}-${chat}-${n}-${randomBytes(3).toString('hex')}`;
    const body = JSON.stringify({ id, chatId: keys[chat], text: `reply ${id}` });
    let last = 'no answer';
    for (let attempt = 0; attempt < 150; attempt++) {
      const res = await fetch(api, { method: 'POST', headers, body, signal: AbortSignal.timeout(20_000) }).catch((e: Error) => e);
      if (!(res instanceof Error) && (res.status === 202 || res.status === 200)) {
        accepted.push(id);
        return;
      }
      last = res instanceof Error ? res.message : `${res.status} ${await res.text()}`;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`outbound ${id} was never accepted: ${last}`);
  };
  const delivered = (): boolean => {
    const texts = new Set(telegram.sent(bot.token).map((s) => s.text ?? ''));
    return accepted.every((id) => texts.has(`reply ${id}`));
  };
  const total = (of: string[]): number => of.reduce((n, k) => n + storedOf(ts.stack, k).length, 0);

  // Warm-up: one message each way per chat.
  chats.forEach((_, i) => write(i, 0));
  await until(() => keys.every((k) => storedOf(ts.stack, k).length >= 1), { timeoutMs: 30_000, what: 'first messages in 1C' });
  await Promise.all(chats.map((_, i) => sendOutbound(i, 0)));
  await until(delivered, { timeoutMs: 30_000, what: 'first replies delivered' });

  let killedAt = 0;
  let hit: string[] = [];
  let promotion: Promise<number> | null = null;
  let firstAfterKill: Promise<number> | null = null;
  for (let n = 1; n < o.perChat; n++) {
    chats.forEach((_, i) => write(i, n));
    if (n % 4 === 0) await Promise.all(chats.map((_, i) => sendOutbound(i, n)));
    if (n === Math.floor(o.perChat / 3)) {
      hit = await o.kill(keys);
      killedAt = Date.now();
      const hitBefore = total(hit);
      // Watched from the kill on: the promotion, and the next message in 1C.
      promotion = until(async () => ((await o.promoted()) ? Date.now() : 0), {
        timeoutMs: o.promotionTimeoutMs ?? 30_000,
        intervalMs: 50,
        what: 'the replica to be promoted',
      });
      firstAfterKill = until(() => (total(hit) > hitBefore ? Date.now() : 0), {
        timeoutMs: o.promotionTimeoutMs ?? 30_000,
        intervalMs: 20,
        what: 'the first message in 1C after the kill',
      });
      // Seen by the awaits below; a rejection before then must not count as unhandled.
      promotion.catch(() => undefined);
      firstAfterKill.catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 15));
  }
  const promotedAt = await promotion!;
  const resumedAt = await firstAfterKill!;

  // Settled: Telegram holds no unconfirmed update (each was confirmed only after its append)
  // and the inbound lane has nothing pending — what 1C lacks now will not come.
  const lane = ts.connector.ctx.inbound.lane;
  try {
    await until(async () => telegram.stats(bot.token).pendingUpdates === 0 && (await lane.pendingCount()) === 0, {
      timeoutMs: o.settleTimeoutMs ?? 60_000,
      intervalMs: 100,
      what: 'every update confirmed to Telegram and the inbound lane empty',
    });
  } catch (err) {
    const state = o.diagnose ? await o.diagnose(keys) : '';
    throw new Error(`${(err as Error).message}: ${telegram.stats(bot.token).pendingUpdates} updates unconfirmed\n${state}`, { cause: err });
  }
  const settledAt = Date.now();

  const outcomes: ChatOutcome[] = [];
  for (const [i, key] of keys.entries()) {
    const stored = storedOf(ts.stack, key);
    const storedIds = new Set(stored.map((m) => m.id));
    const missing: ChatOutcome['missing'] = [];
    for (const id of sent[i].filter((s) => !storedIds.has(s)))
      missing.push({ id, sentAt: sentAt.get(id) ?? 0, known: (await lane.seqOf(key, id)) !== null });
    const forgotten: ChatOutcome['forgotten'] = [];
    for (const m of stored) if ((await lane.seqOf(key, m.id)) === null) forgotten.push({ id: m.id, sentAt: sentAt.get(m.id) ?? 0 });
    const positions = stored.map((m) => sent[i].indexOf(m.id));
    const inOrder = positions.every((p, j) => p >= 0 && (j === 0 || p > positions[j - 1]));
    outcomes.push({ key, sent: sent[i], stored, missing, forgotten, inOrder });
  }

  try {
    await until(delivered, { timeoutMs: o.settleTimeoutMs ?? 60_000, intervalMs: 50, what: 'every accepted outbound message delivered' });
  } catch (err) {
    const texts = new Set(telegram.sent(bot.token).map((s) => s.text ?? ''));
    const undelivered = accepted.filter((id) => !texts.has(`reply ${id}`));
    const views = await Promise.all(
      undelivered.map(async (id) => `${id}: ${await fetch(`${api}/${encodeURIComponent(id)}`, { headers }).then((r) => r.text())}`),
    );
    const chatsOf = [...new Set(undelivered.map((id) => keys[Number(id.split('-')[1])]))];
    const state = o.diagnose ? await o.diagnose(chatsOf) : '';
    throw new Error(`${(err as Error).message}: ${undelivered.length} not delivered\n${views.join('\n')}\n${state}`, { cause: err });
  }
  const texts = telegram.sent(bot.token).map((s) => s.text ?? '');
  const outboundRepeats = accepted.filter((id) => texts.filter((t) => t === `reply ${id}`).length > 1);

  return {
    keys,
    chats: outcomes,
    killedAt,
    promotedAt,
    resumedAt,
    settledAt,
    inbound: o.chats * o.perChat,
    outbound: accepted.length,
    outboundRepeats,
    onecDuplicates: onec.state().messages.duplicates.count,
  };
}

/** Is `seqs` exactly 1, 2, …, n? */
export function gapFreeFromOne(seqs: (number | null)[]): boolean {
  return seqs.every((s, j) => s === j + 1);
}
