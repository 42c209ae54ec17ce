/** TELEGRAM_USER_* / TELEGRAM_API_*: one sentence per bad value, secrets never repeated, both in the log scrubber's list. */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.ts';
import { secretsOf } from '../../src/config/secrets.ts';

const GOOD = { API_TOKEN: 'a-long-enough-api-token', ONEC_BASE_URL: 'http://1c.local/trade/hs/chats/v1', ONEC_USER: 'service' };
const HASH = '0123456789abcdef0123456789ABCDEF';
const KEY = 'a-database-key-of-enough-length';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig({ ...GOOD, ...env }, { envFile: false });
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
}

describe('Telegram user accounts configuration', () => {
  it('is off by default and reads the accounts, credentials, data dir, key and groups', () => {
    expect(loadConfig(GOOD, { envFile: false }).telegramUser).toEqual({
      accounts: [],
      apiId: null,
      apiHash: null,
      dataDir: './data/telegram-user',
      dbKey: null,
      groups: [],
    });
    const c = loadConfig(
      {
        ...GOOD,
        TELEGRAM_USER_ACCOUNTS: 'sales, support',
        TELEGRAM_API_ID: '123456',
        TELEGRAM_API_HASH: HASH,
        TELEGRAM_USER_DB_KEY: KEY,
        TELEGRAM_USER_DATA_DIR: '/var/lib/chat-connector/tdlib',
        TELEGRAM_USER_GROUPS: 'support',
      },
      { envFile: false },
    );
    expect(c.telegramUser).toEqual({
      accounts: ['sales', 'support'],
      apiId: 123456,
      apiHash: HASH,
      dataDir: '/var/lib/chat-connector/tdlib',
      dbKey: KEY,
      groups: ['support'],
    });
    expect(secretsOf(c)).toEqual(expect.arrayContaining([HASH, KEY]));
  });

  it('accounts need the app credentials and the key', () => {
    expect(problems({ TELEGRAM_USER_ACCOUNTS: 'sales' })).toEqual([
      'TELEGRAM_API_ID is required: TELEGRAM_USER_ACCOUNTS needs the app credentials from my.telegram.org',
      'TELEGRAM_API_HASH is required: TELEGRAM_USER_ACCOUNTS needs the app credentials from my.telegram.org',
      "TELEGRAM_USER_DB_KEY is required: TELEGRAM_USER_ACCOUNTS needs a key to encrypt each account's TDLib database",
    ]);
  });

  it('one sentence per bad value; the hash and the key are never repeated', () => {
    const p = problems({
      TELEGRAM_USER_ACCOUNTS: 'sales,sales,my:acct,helpbot',
      TELEGRAM_API_ID: 'abc',
      TELEGRAM_API_HASH: 'not-a-hash-secret-value',
      TELEGRAM_USER_DB_KEY: 'short-secret',
      TELEGRAM_USER_GROUPS: 'nobody',
    });
    expect(p).toEqual([
      'TELEGRAM_USER_ACCOUNTS item "my:acct" is not a valid account name (letters, digits, _ and -, up to 64)',
      'TELEGRAM_USER_ACCOUNTS item "helpbot" ends in "bot", which only bot usernames do; choose another name',
      'TELEGRAM_USER_ACCOUNTS names an account twice',
      'TELEGRAM_API_ID must be the number my.telegram.org shows as "App api_id", got "abc"',
      'TELEGRAM_API_HASH must be the 32 hexadecimal characters my.telegram.org shows as "App api_hash"',
      'TELEGRAM_USER_DB_KEY is too short: use at least 16 characters (it has 12)',
      'TELEGRAM_USER_GROUPS names "nobody", which is not in TELEGRAM_USER_ACCOUNTS',
    ]);
    expect(p.join('\n')).not.toMatch(/not-a-hash-secret-value|short-secret/);
  });
});
