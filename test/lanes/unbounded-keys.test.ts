/**
 * Regression for issue 11 item 11, "unbounded keys": every statused outbound message left a
 * field in `lane:statuses:seq` forever, and `chats:known` had no TTL. N rounds of traffic
 * through the inbound, outbound and statuses lanes (the same chats), then N more: the
 * connector's own persistent state — keys without a TTL, and their fields — is the same
 * size after 2N as after N. Keys with a TTL (dedupe ids, outbound records, routing
 * decisions) are bounded by time; BullMQ's job records by its removeOnComplete count.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { KNOWN_CHAT_TTL_S } from '../../src/lanes/inbound-pipeline.js';
import { until } from '../helpers/redis.ts';
import { storedOf } from '../helpers/stack.ts';
import { startOutbound, type OutboundHarness } from '../outbound/outbound-helpers.ts';

let h: OutboundHarness;
beforeAll(async () => {
  h = await startOutbound();
});
afterAll(async () => {
  await h?.stop();
});

const LANE_QUEUES = /^(inbound|outbound|statuses|routing|operators)(-dead)?$/;

/** Persistent keys of the prefix (TTL -1) that are the connector's own, with their sizes. */
async function persistentState(redis: Redis, prefix: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
    cursor = next;
    for (const key of keys) {
      const rest = key.slice(prefix.length + 1);
      // BullMQ's own keys (`<prefix>:<queue>:…`): capped by its removeOnComplete/Fail counts.
      if (LANE_QUEUES.test(rest.split(':')[0])) continue;
      if ((await redis.ttl(key)) !== -1) continue;
      const type = await redis.type(key);
      const size =
        type === 'hash'
          ? await redis.hlen(key)
          : type === 'zset'
            ? await redis.zcard(key)
            : type === 'set'
              ? await redis.scard(key)
              : type === 'list'
                ? await redis.llen(key)
                : 1;
      out[rest] = size;
    }
  } while (cursor !== '0');
  return out;
}

describe('lane and chat state stays flat under traffic', () => {
  it('after N and after 2N messages through inbound, outbound and statuses: the same persistent keys and field counts', async () => {
    const chats = await Promise.all(['Anna', 'Boris', 'Vera'].map((n) => h.customer(n)));
    const redis = h.connector.ctx.redis;
    const prefix = h.stack.config.queuePrefix;
    let sent = 0;
    const round = async (n: number) => {
      for (let i = 0; i < n; i++) {
        for (const c of chats) {
          c.chat.text(`message ${sent}`);
          const id = `flat-${sent++}`;
          const r = await h.api('POST', '/api/v1/messages', { id, chatId: c.key, text: `reply ${id}` });
          expect(r.status).toBe(202);
        }
      }
      const total = sent;
      await until(
        async () => {
          for (let k = 0; k < total; k++) if (!h.onecStatuses(`flat-${k}`).includes('sent')) return null;
          for (const c of chats) if (storedOf(h.stack, c.key).length < total / chats.length + 1) return null;
          for (const lane of ['inbound', 'outbound', 'statuses']) if ((await redis.zcard(`${prefix}:lane:${lane}:active`)) > 0) return null;
          return true;
        },
        { what: `${total} messages through every lane`, timeoutMs: 60_000 },
      );
      return persistentState(redis, prefix);
    };
    const n = 4;
    const afterN = await round(n);
    const after2N = await round(n);
    expect(after2N).toEqual(afterN);
    // The statuses lane keeps one lane-wide counter, not a field per message.
    expect(await redis.hlen(`${prefix}:lane:statuses:seq`)).toBe(1);
    // Known chats: one key per chat with a TTL refreshed by activity (~180 days), no growing hash.
    const ttl = await redis.ttl(`${prefix}:chats:known:${chats[0].key}`);
    expect(ttl).toBeGreaterThan(KNOWN_CHAT_TTL_S - 120);
    expect(await redis.exists(`${prefix}:chats:known`)).toBe(0);
  });
});
