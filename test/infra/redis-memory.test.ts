/**
 * Regression for issue 11 item 5, "an evicting Redis loses messages silently": with
 * `maxmemory-policy allkeys-lru` `start` ran and `/readyz` stayed 200 while confirmed
 * messages were evicted. Each case runs its own redis-server on a free port.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureRedis, type EmbeddedRedis } from '../../src/infra/embedded-redis.ts';
import { readEvictionPolicy } from '../../src/infra/redis-memory.ts';
import { runDoctor } from '../../src/cli/doctor-command.ts';
import { startTestStack, type TestStack } from '../helpers/stack.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function ownRedis(args: string[]): Promise<EmbeddedRedis> {
  const r = await ensureRedis({ forceOwn: true, args, log: () => undefined });
  cleanups.push(() => r.stop());
  return r;
}

describe('Redis memory policy and OOM', () => {
  it('start refuses an evicting maxmemory-policy in one sentence, exit 1', async () => {
    const redis = await ownRedis(['--maxmemory-policy', 'allkeys-lru', '--maxmemory', '64mb']);
    const cwd = mkdtempSync(join(tmpdir(), 'evict-')); // no ./.env here
    cleanups.push(async () => rmSync(cwd, { recursive: true, force: true }));
    const r = spawnSync(process.execPath, [join(process.cwd(), 'bin', 'chat-connector.js'), 'start'], {
      cwd,
      env: {
        PATH: process.env.PATH ?? '',
        REDIS_URL: redis.url,
        API_TOKEN: 'evict-test-token-0123456789',
        ONEC_BASE_URL: 'http://127.0.0.1:1/base/hs/chats/v1',
        ONEC_USER: 'service',
        HTTP_PORT: '0',
        QUEUE_PREFIX: 'evict-test',
      },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stderr.trim().split('\n')).toEqual([
      `chat-connector: Redis at ${redis.url} has maxmemory-policy allkeys-lru, which evicts keys when memory is full and would silently lose queued messages; set "maxmemory-policy noeviction" (redis.conf or CONFIG SET) and start again.`,
    ]);
    expect(r.status).toBe(1);
  });

  it('reads the policy from INFO when CONFIG is disabled', async () => {
    const redis = await ownRedis(['--maxmemory-policy', 'volatile-lru', '--rename-command', 'CONFIG', '""']);
    const c = new Redis(redis.url);
    cleanups.push(async () => c.disconnect());
    expect(await readEvictionPolicy(c)).toEqual({ policy: 'volatile-lru', via: 'info' });
  });

  it('/readyz is 503 with Retry-After while a noeviction Redis is full, and doctor says so', async () => {
    const redis = await ownRedis(['--maxmemory', '4mb']);
    let ts: TestStack | null = await startTestStack({
      redisUrl: redis.url,
      env: { TELEGRAM_BOT_TOKENS: '' },
      connector: { roles: ['http'] },
    });
    cleanups.push(async () => {
      await ts?.stop();
      ts = null;
    });
    const url = ts.connector.url as string;
    const before = await fetch(`${url}/readyz`);
    expect(before.status, await before.text()).toBe(200);

    const filler = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    cleanups.push(async () => filler.disconnect());
    // Ever smaller values until even a tiny one is refused: memory is then really at the limit
    // (a refused large value alone leaves room for small writes once its buffer is freed).
    // Near the limit other clients' buffers come and go, so it is filled again before each check.
    let n = 0;
    const fillUp = async (): Promise<boolean> => {
      let full = false;
      for (const size of [100_000, 10_000, 1_000, 100, 10]) {
        full = false;
        for (let i = 0; i < 2_000 && !full; i++) {
          full = await filler.set(`filler:${n++}`, 'x'.repeat(size)).then(
            () => false,
            (e: Error) => /OOM/.test(e.message),
          );
        }
      }
      return full;
    };
    expect(await fillUp()).toBe(true);

    const res = await fetch(`${url}/readyz`);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('30');
    expect(await fillUp()).toBe(true);
    const check = (await ts.connector.readiness()).find((c) => c.name === 'redis_writes');
    expect(check).toMatchObject({ ok: false, retryAfterS: 30 });
    expect(check?.detail).toMatch(/^Redis refuses writes because its memory is full/);

    const out: string[] = [];
    expect(await fillUp()).toBe(true);
    await runDoctor([], {
      io: { out: (l) => out.push(l), err: (l) => out.push(l) },
      env: ts.stack.env,
      envFile: false,
      hostId: ts.stack.hostId,
      trustedKeysDir: ts.stack.keysDir,
      timeoutMs: 1000,
    });
    expect(out.find((l) => l.startsWith('✗ Redis refuses writes because its memory is full'))).toBeDefined();

    await filler.flushall();
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
  });
});
