/**
 * Found by the soak: when `IBSession: finish` got no answer (1C dropped the connection) or
 * a 5xx page, the client gave its session permit back at once while 1C still held the
 * session until sessionMaxAge — and a new session opened next to it: two open sessions
 * with ONEC_MAX_SESSIONS=1. The permit must stay taken until 1C has ended the session,
 * in one process (local permits) and across instances (Redis permits).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import type { OutageMode } from '../../src/onec/emulator/index.ts';
import { OnecClient, type OnecClientOptions } from '../../src/onec/index.ts';
import { RedisSessionPermits } from '../../src/coordination/onec-session-permits.js';
import { cleanupPrefix, newRedis, uniquePrefix, until } from '../helpers/redis.ts';
import { msg, useEmulator } from './onec-test-helpers.ts';

describe('a 1C session whose finish was not confirmed keeps its permit until 1C ends it', () => {
  let redis: Redis | null = null;
  let prefix = '';
  const fx = useEmulator({ sessionMaxAgeS: 1 }, { idleFinishMs: 50, sessionMaxAgeMs: 1000, timeoutMs: 1000 });
  const client = (o: Partial<OnecClientOptions>): OnecClient => fx.client(o);
  afterEach(async () => {
    if (redis) {
      await cleanupPrefix(prefix);
      redis.disconnect();
      redis = null;
    }
  });

  /** Opens a session with `a`, lets its idle finish fail with `mode`, then delivers with `b`. */
  async function scenario(a: OnecClient, b: OnecClient, mode: OutageMode): Promise<void> {
    await a.deliverMessages([msg('a', 1)]);
    expect(fx.emu.state().sessions.open).toBe(1);
    fx.emu.outage({ mode });
    await until(() => a.openSessions === 0, { what: 'the idle finish attempted' });
    fx.emu.clearOutage();
    // 1C still holds the first session; the delivery must wait for it to end.
    expect(fx.emu.state().sessions.open).toBe(1);
    expect(await b.deliverMessages([msg('b', 1)])).toEqual([{ id: 'tg:bot:b:1', status: 'accepted' }]);
    const st = fx.emu.state().sessions;
    expect(st.peakOpen).toBe(1);
    expect(st.expired).toBe(1);
    expect(st.opened).toBe(2);
  }

  for (const mode of ['drop', '503'] as const) {
    it(`one process, finish answered with ${mode}: the next session opens only after 1C ended the first`, async () => {
      const c = client({ maxSessions: 1 });
      await scenario(c, c, mode);
    });
  }

  it('two instances sharing Redis permits: the other instance waits for 1C to end the session', async () => {
    redis = newRedis();
    prefix = uniquePrefix('finish');
    const permits = () => new RedisSessionPermits({ redis: redis as Redis, prefix, max: 1, holdTtlMs: 1500 });
    const a = client({ maxSessions: 1, permits: permits() });
    const b = client({ maxSessions: 1, permits: permits() });
    await scenario(a, b, 'drop');
  });

  it('a finish that 1C confirms gives the permit back at once', async () => {
    const c = client({ maxSessions: 1, sessionMaxAgeMs: 60_000 });
    await c.deliverMessages([msg('a', 1)]);
    await until(() => fx.emu.state().sessions.finished === 1, { what: 'the idle finish' });
    // Were the permit held for sessionMaxAgeMs (60 s), this would time out.
    expect(await c.deliverMessages([msg('a', 2)])).toEqual([{ id: 'tg:bot:a:2', status: 'accepted' }]);
    expect(fx.emu.state().sessions).toMatchObject({ opened: 2, finished: 1, expired: 0, peakOpen: 1 });
  });
});
