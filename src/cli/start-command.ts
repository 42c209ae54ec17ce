/**
 * `chat-connector start` and `chat-connector worker <name>`: run until SIGTERM/SIGINT, then
 * shut down gracefully within a bound; a second signal exits at once. Production never
 * starts Redis: an unreachable Redis is reported and retried.
 */
import type { Config } from '../config/config.ts';
import { secretsOf } from '../config/secrets.ts';
import { createConnector, type Connector, type Role } from '../connector.ts';
import { evictionRefusal, readEvictionPolicy } from '../infra/redis-memory.ts';
import { describeError } from '../core/index.ts';
import { createLogger } from '../infra/logger.ts';
import { createRedis, describeRedisTarget, pingRedisTarget, type RedisTarget } from '../redis/redis-connection.js';
import { productFeatures } from './features.ts';

const WORKERS: Record<string, Role[]> = {
  inbound: ['inbound'],
  outbound: ['outbound'],
  channels: ['channels'],
  http: ['http'],
};

export async function runWorker(config: Readonly<Config>, args: string[]): Promise<number> {
  const name = args[0];
  const roles = name ? WORKERS[name] : undefined;
  if (!roles) {
    process.stderr.write(`worker: name one of ${Object.keys(WORKERS).join(', ')}${name ? ` (got "${name}")` : ''}.\n`);
    return 2;
  }
  return runStart(config, roles);
}

export async function runStart(config: Readonly<Config>, roles?: Role[]): Promise<number> {
  const logger = createLogger({
    level: config.logLevel,
    secrets: secretsOf(config),
  });
  if (!(await pingRedisTarget(config.redis))) {
    logger.error(
      `Redis does not answer at ${describeRedisTarget(config.redis)}; the connector waits for it and keeps retrying (start Redis or fix REDIS_URL).`,
    );
  } else {
    // An evicting Redis loses queued messages silently: refuse to run on one (issue 11 item 5).
    const refusal = await evictionPolicyRefusal(config.redis);
    if (refusal) {
      process.stderr.write(`chat-connector: ${refusal}\n`);
      return 1;
    }
  }
  const connector = await createConnector(config, { roles, logger, features: productFeatures() });
  await connector.start();
  logger.info({ roles: roles ?? 'all', instance: connector.ctx.instanceId }, 'connector started');
  return waitForShutdown(connector, (m) => logger.info(m));
}

/** How long a stop may take before the process exits anyway (systemd's TimeoutStopSec is above it). */
export const SHUTDOWN_BOUND_MS = 25_000;

/** Resolves with the exit code once a signal has stopped the connector. */
export function waitForShutdown(connector: Connector, say: (m: string) => void, boundMs = SHUTDOWN_BOUND_MS): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = (sig: NodeJS.Signals) => {
      if (stopping) {
        say(`${sig} again: exiting now`);
        process.exit(130);
      }
      stopping = true;
      say(
        `${sig}: stopping — no new work; in-flight work finishes (at most ${Math.round(boundMs / 1000)} s). Send ${sig} again to exit at once.`,
      );
      const timer = setTimeout(() => {
        say('shutdown bound reached; exiting (unfinished work stays queued)');
        process.exit(1);
      }, boundMs);
      timer.unref();
      connector.stop().then(
        () => {
          clearTimeout(timer);
          say('stopped cleanly');
          resolve(0);
        },
        (err: unknown) => {
          clearTimeout(timer);
          say(`stop failed: ${describeError(err)}`);
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

/** The one-sentence refusal when Redis's maxmemory-policy evicts; null when it is noeviction (or unreadable). */
async function evictionPolicyRefusal(url: RedisTarget): Promise<string | null> {
  const redis = createRedis({ url, name: 'chat-connector-policy-check', extra: { maxRetriesPerRequest: 1, connectTimeout: 3_000 } });
  redis.on('error', () => undefined);
  try {
    const { policy } = await readEvictionPolicy(redis);
    return evictionRefusal(policy, describeRedisTarget(url));
  } finally {
    redis.disconnect();
  }
}
