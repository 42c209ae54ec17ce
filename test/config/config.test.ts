import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.ts';
import { parseEnvFile } from '../../src/config/env-file.ts';

const GOOD = {
  API_TOKEN: 'a-long-enough-api-token',
  ONEC_BASE_URL: 'http://1c.local/trade/hs/chats/v1',
  ONEC_USER: 'service',
};

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env, { envFile: false });
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
}

describe('configuration', () => {
  it('applies the defaults of connector-api.md and freezes the result', () => {
    const c = loadConfig(GOOD, { envFile: false });
    expect(c.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(c.queuePrefix).toBe('chats');
    expect(c.http).toEqual({ host: '127.0.0.1', port: 8080, publicUrl: 'http://127.0.0.1:8080' });
    expect(c.onec).toMatchObject({ maxSessions: 1, batchMax: 500, timeoutMs: 10000, authWaitMs: 30000, mode: 'push', pullStaleS: 300 });
    expect(c.telegram).toMatchObject({ apiRoot: 'https://api.telegram.org', mode: 'polling', tokens: [] });
    expect(c.seatTtlS).toBe(300);
    expect(c.mediaDir).toBe('./data/media');
    expect(Object.isFrozen(c) && Object.isFrozen(c.onec)).toBe(true);
  });

  it.each([
    [{ ONEC_MAX_SESSIONS: 'two' }, 'ONEC_MAX_SESSIONS must be a whole number from 1 to 64, got "two"'],
    [{ ONEC_MAX_SESSIONS: '0' }, 'ONEC_MAX_SESSIONS must be a whole number from 1 to 64, got 0'],
    [{ ONEC_BATCH_MAX: '501' }, 'ONEC_BATCH_MAX must be a whole number from 1 to 500, got 501'],
    [{ HTTP_PORT: '70000' }, 'HTTP_PORT must be a whole number from 0 to 65535, got 70000'],
    [{ REDIS_URL: 'http://x' }, 'REDIS_URL must be a redis or rediss URL, got "http://x"'],
    [{ REDIS_URL: 'redis://:hunter2-secret@/x:y' }, 'REDIS_URL is not a valid URL: "redis://:***@/x:y"'],
    [{ ONEC_BASE_URL: 'not a url' }, 'ONEC_BASE_URL is not a valid URL: "not a url"'],
    [{ TELEGRAM_MODE: 'push' }, 'TELEGRAM_MODE must be one of polling, webhook, got "push"'],
    [
      { TELEGRAM_BOT_TOKENS: '123:abc' },
      'TELEGRAM_BOT_TOKENS item 1 is not a bot token (expected "<digits>:<secret>" as BotFather gives it)',
    ],
    [{ ONEC_MODE: 'poll' }, 'ONEC_MODE must be one of push, pull, got "poll"'],
    [{ ONEC_PULL_STALE_S: '0' }, 'ONEC_PULL_STALE_S must be a whole number from 1 to 604800, got 0'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent, got "loud"'],
    [{ ADMIN_USER: 'admin' }, 'ADMIN_PASSWORD is required when ADMIN_USER is set (the dashboard needs both)'],
    [{ API_TOKEN: 'short' }, 'API_TOKEN is too short: use at least 16 characters'],
    // issue 11 item 13: `ADMIN_PASSWORD=a` was accepted.
    [{ ADMIN_USER: 'admin', ADMIN_PASSWORD: 'a' }, 'ADMIN_PASSWORD is too short: use at least 12 characters (it has 1)'],
    [{ ADMIN_USER: 'admin', ADMIN_PASSWORD: 'elevenchars' }, 'ADMIN_PASSWORD is too short: use at least 12 characters (it has 11)'],
    [{ WHATSAPP_ACCOUNTS: 'main,main' }, 'WHATSAPP_ACCOUNTS names an account twice'],
    [{ OUTBOUND_MEDIA_ALLOW: 'files.corp.lan,10.0.0.0/40' }, 'OUTBOUND_MEDIA_ALLOW item "10.0.0.0/40" has a prefix length above 32'],
    [
      { OUTBOUND_MEDIA_ALLOW: 'http://files/' },
      'OUTBOUND_MEDIA_ALLOW item "http://files/" is neither a host name nor an IP address or CIDR',
    ],
  ])('%j → one line naming the variable', (bad, line) => {
    expect(problems({ ...GOOD, ...bad })).toEqual([line]);
  });

  it('reports every missing essential at once for start', () => {
    expect(problems({})).toEqual([
      'API_TOKEN is required: the bearer token that protects the HTTP API',
      'ONEC_BASE_URL is required: the root of the 1C HTTP service, e.g. http://host/base/hs/chats/v1',
      'ONEC_USER is required: the 1C service user the connector delivers messages as',
    ]);
  });

  it('never echoes a bot token in a problem line', () => {
    const secret = '123456:' + 'x'.repeat(10) + '!' + 'y'.repeat(30);
    const p = problems({ ...GOOD, TELEGRAM_BOT_TOKENS: secret });
    expect(p).toHaveLength(1);
    expect(p[0]).not.toContain('xxxxxxxxxx');
  });

  it('reads .env, with the environment winning', () => {
    expect(parseEnvFile('# c\nA=1\nexport B="two words"\nC=3 # note\n')).toEqual({ A: '1', B: 'two words', C: '3' });
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    writeFileSync(join(dir, '.env'), 'ONEC_MAX_SESSIONS=3\nONEC_BATCH_MAX=50\n');
    const c = loadConfig({ ...GOOD, ONEC_BATCH_MAX: '20' }, { envFile: join(dir, '.env') });
    expect([c.onec.maxSessions, c.onec.batchMax]).toEqual([3, 20]);
  });

  it('the CLI prints one line per problem, exits 1, and shows no stack trace', () => {
    const r = spawnSync(process.execPath, ['bin/chat-connector.js', 'start'], {
      env: { PATH: process.env.PATH, ...GOOD, ONEC_MAX_SESSIONS: 'many', TELEGRAM_MODE: 'push' },
      encoding: 'utf8',
      cwd: process.cwd(),
      timeout: 30_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      'config: TELEGRAM_MODE must be one of polling, webhook, got "push"',
      'config: ONEC_MAX_SESSIONS must be a whole number from 1 to 64, got "many"',
      'config: 2 problems; the connector did not start.',
    ]);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
