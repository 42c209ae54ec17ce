/**
 * Every secret of a configuration, for the log scrubber and the doctor: built here once so a
 * new secret setting is added to one list, not to each place that hides secrets.
 */
import type { Config } from './config.ts';

export function secretsOf(config: Readonly<Config>): (string | null | undefined)[] {
  return [
    config.apiToken,
    config.admin?.password,
    config.onec.password,
    config.telegram.webhookSecret,
    config.redis.sentinel?.password,
    redisUrlPassword(config.redisUrl),
    ...config.telegram.tokens,
    config.telegramUser.apiHash,
    config.telegramUser.dbKey,
  ];
}

/** The password inside REDIS_URL, if any (redis://:secret@host). */
function redisUrlPassword(url: string): string | null {
  try {
    const p = new URL(url).password;
    return p ? decodeURIComponent(p) : null;
  } catch {
    return null;
  }
}
