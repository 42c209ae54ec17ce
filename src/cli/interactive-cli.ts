/**
 * What the interactive account commands (`whatsapp pair`, `telegram login`) share: they speak
 * sentences of their own, so the libraries' log lines show only with LOG_LEVEL=debug or trace;
 * and they refuse an account a running connector holds (two clients of one account replace
 * each other), naming the holder's instance.
 */
import type { Redis } from 'ioredis';
import type { Config } from '../config/config.ts';
import { secretsOf } from '../config/secrets.ts';
import { accountLeaseKey } from '../coordination/account-supervisor.ts';
import { createLogger, type AppLogger } from '../infra/logger.ts';

export function interactiveLogger(config: Readonly<Config>): AppLogger {
  return createLogger({
    level: config.logLevel === 'debug' || config.logLevel === 'trace' ? config.logLevel : 'silent',
    secrets: secretsOf(config),
  });
}

/** The instance that runs the account now (its lease holder), or null when none does. */
export async function accountHolder(redis: Redis, config: Readonly<Config>, leaseKey: string): Promise<string | null> {
  const holder = await redis.get(accountLeaseKey(config.queuePrefix, leaseKey));
  return holder === null ? null : (holder.split('#')[0] ?? holder);
}
