/** OPERATOR_TOKEN_MAX_AGE_S and OPERATOR_LOGIN_QUEUE_MAX (issue 11 item 4): defaults and one sentence for a bad value. */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.ts';

const GOOD = { API_TOKEN: 'a-long-enough-api-token', ONEC_BASE_URL: 'http://1c.local/trade/hs/chats/v1', ONEC_USER: 'service' };

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig({ ...GOOD, ...env }, { envFile: false });
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
}

describe('operator login settings', () => {
  it('default to a 12-hour token and 100 logins in progress', () => {
    const c = loadConfig(GOOD, { envFile: false });
    expect(c.operatorTokenMaxAgeS).toBe(43_200);
    expect(c.operatorLoginQueueMax).toBe(100);
  });

  it('refuse a bad value in one line naming the variable', () => {
    expect(problems({ OPERATOR_TOKEN_MAX_AGE_S: '10' })).toEqual([
      'OPERATOR_TOKEN_MAX_AGE_S must be a whole number from 60 to 2592000, got 10',
    ]);
    expect(problems({ OPERATOR_LOGIN_QUEUE_MAX: 'many' })).toEqual([
      'OPERATOR_LOGIN_QUEUE_MAX must be a whole number from 1 to 10000, got "many"',
    ]);
  });
});
