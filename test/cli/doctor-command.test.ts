/**
 * `chat-connector doctor` against the local stack, healthy and broken one way at a time:
 * each broken kind gives its ✗ line with what to do, exit 1 when chats stop, and never a
 * secret in the output.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDoctor } from '../../src/cli/doctor-command.ts';
import { ensureRedis, type EmbeddedRedis } from '../../src/infra/embedded-redis.ts';
import { startLocalStack, type LocalStack } from '../../src/infra/local-stack.ts';
import { newRedis } from '../helpers/redis.ts';

let stack: LocalStack;
beforeAll(async () => {
  stack = await startLocalStack();
});
afterAll(async () => {
  await stack?.stop();
});

async function doctor(env: Record<string, string | undefined>, args: string[] = []): Promise<{ code: number; out: string[] }> {
  const out: string[] = [];
  const code = await runDoctor(args, {
    env: { ...stack.env, ...env },
    envFile: false,
    hostId: stack.hostId,
    trustedKeysDir: stack.keysDir,
    timeoutMs: 2000,
    io: { out: (l) => out.push(l), err: (l) => out.push(l) },
  });
  const text = out.join('\n');
  for (const secret of [
    stack.env.API_TOKEN,
    stack.env.ONEC_PASSWORD,
    ...stack.bots.map((b) => b.token),
    env.ONEC_PASSWORD,
    env.TELEGRAM_BOT_TOKENS,
    env.API_TOKEN,
  ]) {
    if (secret) expect(text).not.toContain(secret);
  }
  return { code, out };
}

const line = (out: string[], re: RegExp) => out.find((l) => re.test(l));

describe('doctor', () => {
  it('a healthy setup: every check ✓ (persistence as ℹ), exit 0', async () => {
    const r = await doctor({});
    expect(r.code).toBe(0);
    expect(r.out.filter((l) => l.startsWith('✗'))).toEqual([]);
    expect(line(r.out, /^✓ Configuration is complete/)).toBeDefined();
    expect(line(r.out, /^✓ Redis answers/)).toBeDefined();
    expect(line(r.out, /^✓ Redis maxmemory-policy is noeviction/)).toBeDefined();
    expect(line(r.out, /^ℹ Redis persistence: /)).toBeDefined();
    expect(line(r.out, /^✓ 1C answers at .* accepts the service user service\.$/)).toBeDefined();
    expect(line(r.out, /^✓ 1C licenses: \d+ free of \d+/)).toBeDefined();
    expect(line(r.out, /^✓ Feature 42 .* is granted to this host\.$/)).toBeDefined();
    expect(line(r.out, new RegExp(`^✓ Telegram bot @${stack.bots[0].username} \\(id ${stack.bots[0].id}\\) answers getMe`))).toBeDefined();
    expect(r.out.at(-1)).toBe('Everything essential is in order.');
    // The short 1C session the check opened is finished.
    expect(stack.onec.state().sessions.open).toBe(0);
  });

  it('--json gives the checks as data', async () => {
    const r = await doctor({}, ['--json']);
    const data = JSON.parse(r.out.join('\n')) as { ok: boolean; checks: Array<{ check: string; mark: string }> };
    expect(data.ok).toBe(true);
    expect(data.checks.map((c) => c.check)).toEqual(
      expect.arrayContaining(['config', 'redis', 'redis_policy', 'onec', 'license', 'feature_42', `telegram:${stack.bots[0].id}`]),
    );
  });

  it('configuration problems: one ✗ per problem; the other checks run when the rest can be read', async () => {
    const r = await doctor({ API_TOKEN: '' });
    expect(r.code).toBe(1);
    expect(line(r.out, /^✗ Configuration: API_TOKEN is required/)).toBeDefined();
    expect(line(r.out, /^✓ Redis answers/)).toBeDefined();
    expect(r.out.at(-1)).toBe('1 problem stops chats; fix the ✗ lines above.');
    const worse = await doctor({ API_TOKEN: 'Xq7zK', HTTP_PORT: 'eighty', ADMIN_USER: 'admin' });
    expect(worse.code).toBe(1);
    expect(worse.out.filter((l) => l.startsWith('✗ Configuration: '))).toHaveLength(3);
    expect(line(worse.out, /^✗ Configuration: HTTP_PORT must be a whole number/)).toBeDefined();
    expect(line(worse.out, /^✗ Configuration: ADMIN_PASSWORD is required when ADMIN_USER is set/)).toBeDefined();
    expect(line(worse.out, /^✗ The other checks need a readable configuration/)).toBeDefined();
  });

  it('Redis down', async () => {
    const r = await doctor({ REDIS_URL: 'redis://127.0.0.1:1' });
    expect(r.code).toBe(1);
    expect(line(r.out, /^✗ Redis does not answer at redis:\/\/127\.0\.0\.1:1 .*start it or fix REDIS_URL\.$/)).toBeDefined();
  });

  it('Redis that may evict (maxmemory-policy allkeys-lru)', async () => {
    let own: EmbeddedRedis | null = null;
    try {
      own = await ensureRedis({ forceOwn: true, args: ['--maxmemory-policy', 'allkeys-lru', '--appendonly', 'no', '--save', ''] });
      const r = await doctor({ REDIS_URL: own.url });
      expect(r.code).toBe(1);
      expect(line(r.out, /^✗ Redis maxmemory-policy is allkeys-lru: .*set "maxmemory-policy noeviction"/)).toBeDefined();
      expect(line(r.out, /^ℹ Redis persistence: off/)).toBeDefined();
    } finally {
      await own?.stop();
    }
  });

  it('1C: unreachable, wrong password, not published', async () => {
    const down = await doctor({ ONEC_BASE_URL: 'http://127.0.0.1:1/base/hs/chats/v1' });
    expect(down.code).toBe(1);
    expect(line(down.out, /^✗ 1C is unreachable at http:\/\/127\.0\.0\.1:1\/base\/hs\/chats\/v1: check ONEC_BASE_URL/)).toBeDefined();
    const pw = `wrong-${randomBytes(6).toString('hex')}`;
    const creds = await doctor({ ONEC_PASSWORD: pw });
    expect(creds.code).toBe(1);
    expect(line(creds.out, /^✗ 1C refused the service user service: check ONEC_USER and ONEC_PASSWORD/)).toBeDefined();
    const unpublished = await doctor({ ONEC_BASE_URL: `${stack.onec.url.replace(/\/hs\/.*$/, '')}/hs/nothing-here` });
    expect(unpublished.code).toBe(1);
    expect(
      line(unpublished.out, /^✗ the 1C HTTP service is not published at .*: publish the "chats" HTTP service or fix ONEC_BASE_URL/),
    ).toBeDefined();
  });

  it('a dashboard password under 12 characters is a ✗ naming ADMIN_PASSWORD, never its value (issue 11 item 13)', async () => {
    const r = await doctor({ ADMIN_USER: 'admin', ADMIN_PASSWORD: 'pw-Zq7x' });
    expect(r.code).toBe(1);
    expect(line(r.out, /^✗ Configuration: ADMIN_PASSWORD is too short: use at least 12 characters/)).toBeDefined();
    expect(r.out.join('\n')).not.toContain('pw-Zq7x');
    const fine = await doctor({ ADMIN_USER: 'admin', ADMIN_PASSWORD: 'a-long-enough-pass' });
    expect(line(fine.out, /ADMIN_PASSWORD/)).toBeUndefined();
  });

  it('license: none, and one for another host', async () => {
    const none = await doctor({ LICENSE_FILE: '' });
    expect(none.code).toBe(1);
    expect(line(none.out, /^✗ License document: .*set LICENSE_FILE to the document your vendor signed for this host/)).toBeDefined();
    const other = await doctor({}, []).then(async () => {
      stack.writeLicense({ 42: 1, 48: 2 }, { hostId: 'ffffffffffffffffffffffffffffffff' });
      try {
        return await doctor({});
      } finally {
        stack.writeLicense({ 42: 1, 48: 10, 49: 10 });
      }
    });
    expect(other.code).toBe(1);
    expect(line(other.out, /^✗ (Feature 42 .* is wrong host|License document: )/)).toBeDefined();
  });

  it('a Telegram token the Bot API rejects (named by bot id, never by token)', async () => {
    const fake = `123456789:${randomBytes(27).toString('base64url')}`;
    const r = await doctor({ TELEGRAM_BOT_TOKENS: `${stack.bots[0].token},${fake}` });
    expect(r.code).toBe(1);
    expect(line(r.out, /^✗ Telegram rejected the token of bot 123456789 \(401\): get a valid token from @BotFather/)).toBeDefined();
    expect(line(r.out, new RegExp(`^✓ Telegram bot @${stack.bots[0].username}`))).toBeDefined();
  });

  it('WhatsApp: an account never paired, and one with stored credentials', async () => {
    const redis = newRedis();
    try {
      await redis.set(
        `${stack.config.queuePrefix}:wa:paired:auth:creds`,
        JSON.stringify({ me: { id: '79990000000:1@s.whatsapp.net' }, registered: true }),
      );
      const r = await doctor({ WHATSAPP_ACCOUNTS: 'paired,fresh' });
      expect(r.code).toBe(1);
      expect(line(r.out, /^✓ WhatsApp account paired is paired/)).toBeDefined();
      expect(line(r.out, /^✗ WhatsApp account fresh is not paired .*run "chat-connector whatsapp pair fresh"/)).toBeDefined();
    } finally {
      await redis.del(`${stack.config.queuePrefix}:wa:paired:auth:creds`);
      redis.disconnect();
    }
  });

  it('WhatsApp: a state that needs a person (recorded by the running instance) fails the check', async () => {
    const redis = newRedis();
    const key = `${stack.config.queuePrefix}:wa:banned:state`;
    try {
      await redis.set(
        key,
        JSON.stringify({
          channel: 'whatsapp',
          account: 'banned',
          state: 'forbidden',
          since: '2026-12-01T00:00:00.000Z',
          lastError: 'WhatsApp refused this number (403)',
        }),
      );
      const r = await doctor({ WHATSAPP_ACCOUNTS: 'banned' });
      expect(r.code).toBe(1);
      expect(line(r.out, /^✗ WhatsApp account banned is refused by WhatsApp \(403: banned or restricted\).*state forbidden/)).toBeDefined();
    } finally {
      await redis.del(key);
      redis.disconnect();
    }
  });
});
