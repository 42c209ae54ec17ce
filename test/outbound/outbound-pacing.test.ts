/**
 * Issue 19 item 5: pacing without holding worker slots, and one bot's rate shared by every
 * worker. Real connector, real grammY, the emulated Bot API, real Redis.
 *
 * - A chat waiting for its own spacing gives its worker slot back (LaneDeferral): with ONE
 *   slot, a second chat is sent to while the first waits (before: the first chat's driver
 *   held the slot through all its waits, so the second chat waited for all of them).
 * - Two workers (two OutboundServices: their own Redis connections and BullMQ workers) on one
 *   bot book its slots in Redis: with the emulator's limits on, no 429, the bot never above
 *   its rate, every chat in order, nothing sent twice.
 * - A 429 with retry_after is still obeyed to the millisecond for that chat.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isOutboundCapable, type OutboundCapable } from '../../src/core/index.ts';
import { OutboundService } from '../../src/outbound/outbound-service.ts';
import { newRedis, REDIS_URL, until } from '../helpers/redis.ts';
import { startOutbound, type OutboundHarness } from './outbound-helpers.ts';

const harnesses: OutboundHarness[] = [];
const extra: { service: OutboundService; redis: ReturnType<typeof newRedis> }[] = [];
afterEach(async () => {
  for (const e of extra.splice(0)) {
    await e.service.close();
    e.redis.disconnect();
  }
  await Promise.all(harnesses.splice(0).map((h) => h.stop()));
});

async function post(h: OutboundHarness, id: string, chatId: string, text: string): Promise<void> {
  const r = await h.api('POST', '/api/v1/messages', { id, chatId, text });
  expect(r.status, JSON.stringify(r.json)).toBe(202);
}

/** Most of `times` (ms, sorted) inside any window of `windowMs`. */
function maxInWindow(times: number[], windowMs: number): number {
  let best = 0;
  for (let lo = 0, hi = 0; hi < times.length; hi++) {
    while (times[hi] - times[lo] >= windowMs) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

describe('outbound pacing (booked slots, chats handed back while they wait)', () => {
  it('a chat waiting for its spacing does not hold the only worker slot: another chat is sent to meanwhile', async () => {
    const h = await startOutbound({ feature: { concurrency: 1, pacing: { telegramChatIntervalMs: 500, telegramBotIntervalMs: 1 } } });
    harnesses.push(h);
    const a = await h.customer('Alma');
    const b = await h.customer('Bela');
    for (let i = 1; i <= 3; i++) await post(h, `slot-a-${i}`, a.key, `a ${i}`);
    await until(() => h.sentTo(a.chat).length >= 1);
    await post(h, 'slot-b-1', b.key, 'b 1');
    await until(() => h.sentTo(a.chat).length >= 3 && h.sentTo(b.chat).length >= 1, { timeoutMs: 15_000 });
    const sentA = h.sentTo(a.chat);
    expect(sentA.map((s) => s.text)).toEqual(['a 1', 'a 2', 'a 3']);
    // Chat b went while chat a waited for its second slot (before: after chat a's last message).
    expect(h.sentTo(b.chat)[0].at).toBeLessThan(sentA[1].at);
    // Chat a kept its spacing at the emulator: each send is spaced from the previous one's
    // answer too (the emulator stamped it before answering), however late a request left.
    for (let i = 1; i < sentA.length; i++) expect(sentA[i].at - sentA[i - 1].at).toBeGreaterThanOrEqual(490);
  });

  it('two workers on one bot share its rate through Redis: no 429, never above the rate, in order, once each', async () => {
    // The bot booked at 10/s, the emulator refusing a 13th send in any second; each chat booked
    // 1.3 s apart against the emulator's 1/s (margins for a loaded test machine's jitter).
    const pacing = { telegramChatIntervalMs: 1300, telegramBotIntervalMs: 100 };
    const h = await startOutbound({ feature: { concurrency: 4, pacing } });
    harnesses.push(h);
    const ctx = h.connector.ctx;
    // A second worker: its own Redis connection and BullMQ worker on the same lane, same bot.
    let sentBySecond = 0;
    const senders = new Map<string, OutboundCapable>();
    for (const c of ctx.channels) {
      if (!isOutboundCapable(c)) continue;
      const counted: OutboundCapable = {
        hasAccount: (a) => c.hasAccount(a),
        send: async (m, hooks) => {
          const r = await c.send(m, hooks);
          sentBySecond += 1;
          return r;
        },
      };
      senders.set(c.channel, counted);
    }
    const redis = newRedis();
    const second = new OutboundService({
      redis,
      bullConnection: { url: REDIS_URL },
      prefix: ctx.config.queuePrefix,
      senders,
      chatType: (k) => ctx.inbound.chatType(k),
      deliverStatuses: (events) => ctx.onecPush.deliverStatuses(events),
      pacing,
      concurrency: 4,
    });
    extra.push({ service: second, redis });
    await second.start();
    const chats = [];
    for (let i = 0; i < 8; i++) chats.push(await h.customer(`Two ${i}`));
    h.stack.telegram.setLimits({ enabled: true, perBotPerSec: 12, perChatPerSec: 1 });
    const limited0 = h.stack.telegram.stats(h.token).rateLimitedIssued;
    const ids: string[] = [];
    for (let m = 1; m <= 3; m++) {
      await Promise.all(
        chats.map((c, i) => {
          const id = `two-${i}-${m}`;
          ids.push(id);
          return post(h, id, c.key, `chat ${i} message ${m}`);
        }),
      );
    }
    for (const id of ids) await h.statusOf(id, ['sent']);
    const all = chats.flatMap((c) => h.sentTo(c.chat));
    expect(all).toHaveLength(24);
    chats.forEach((c, i) => expect(h.sentTo(c.chat).map((s) => s.text)).toEqual([1, 2, 3].map((m) => `chat ${i} message ${m}`)));
    expect(h.stack.telegram.stats(h.token).rateLimitedIssued - limited0).toBe(0);
    // Booked 100 ms apart: at most 10 (+1 at a window's edge) in any second, whichever worker sent.
    expect(
      maxInWindow(
        all.map((s) => s.at).sort((x, y) => x - y),
        1000,
      ),
    ).toBeLessThanOrEqual(11);
    expect(sentBySecond).toBeGreaterThan(0);
    expect(sentBySecond).toBeLessThan(24);
  });

  it('a 429 with retry_after is obeyed for that chat, and the chat goes on in order', async () => {
    const h = await startOutbound({ feature: { pacing: { telegramChatIntervalMs: 20, telegramBotIntervalMs: 1 } } });
    harnesses.push(h);
    const c = await h.customer('Told');
    const calls: number[] = [];
    h.stack.telegram.on('call', (token: string, method: string) => {
      if (token === h.token && method === 'sendMessage') calls.push(Date.now());
    });
    h.stack.telegram.injectFault(h.token, 'sendMessage', '429', 1, 1);
    await post(h, 'told-1', c.key, 'one');
    await post(h, 'told-2', c.key, 'two');
    await h.statusOf('told-2', ['sent']);
    expect(h.sentTo(c.chat).map((s) => s.text)).toEqual(['one', 'two']);
    // The refused call, then the retry no sooner than retry_after (1 s).
    expect(calls.length).toBeGreaterThanOrEqual(3);
    expect(calls[1] - calls[0]).toBeGreaterThanOrEqual(990);
  });
});
