/**
 * A connector between the emulators, for end-to-end tests: the real composition root,
 * real grammY against the emulated Bot API, the 1C emulator, a real Redis, with short
 * locks and a fast retry policy so failures heal in test time.
 */
import { createConnector, type Connector, type ConnectorOptions } from '../../src/connector.ts';
import { EmulatorPullPoller, type EmulatorPullPollerOptions } from '../../src/onec/emulator/index.ts';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../src/infra/local-stack.ts';
import { createLogger } from '../../src/infra/logger.ts';
import { RetryPolicy } from '../../src/lanes/retry-policy.js';
import { cleanupPrefix } from './redis.ts';

export interface TestStack {
  stack: LocalStack;
  connector: Connector;
  /** Pull mode: the emulated 1C job polling the connector (started with the connector). */
  poller: EmulatorPullPoller | null;
  stop(): Promise<void>;
}

export type OnecMode = 'push' | 'pull';

/** The 1C job of pull mode against this stack's connector (short waits: tests stop it often). */
export function pullPoller(
  stack: LocalStack,
  connector: () => Pick<Connector, 'url'>,
  o: Partial<EmulatorPullPollerOptions> = {},
): EmulatorPullPoller {
  return new EmulatorPullPoller(stack.onec, {
    connectorUrl: () => connector().url,
    apiToken: stack.env.API_TOKEN,
    pageSize: 100,
    waitS: 2,
    errorPauseMs: 50,
    ...o,
  });
}

export async function startTestStack(
  o: LocalStackOptions & {
    connector?: ConnectorOptions;
    start?: boolean;
    mode?: OnecMode;
    poller?: Partial<EmulatorPullPollerOptions> | false;
  } = {},
): Promise<TestStack> {
  const clusterSeed = process.env.TEST_REDIS_CLUSTER_NODES?.split(',')[0];
  const stack = await startLocalStack({
    ...o,
    redisUrl: o.redisUrl ?? (clusterSeed ? `redis://${clusterSeed}` : undefined),
    onec: { sessionMaxAgeS: 3, ...o.onec },
    env: {
      LANE_LOCK_MS: '1500',
      LANE_SWEEP_MS: '300',
      ONEC_IDLE_FINISH_MS: '300',
      ONEC_SESSION_MAX_AGE_S: '3',
      ONEC_MODE: o.mode ?? 'push',
      // TEST_REDIS_CLUSTER_NODES=host:port,…: the same end-to-end tests on a Redis Cluster
      // (docs/operations.md: `npm run test:cluster-e2e` starts one and runs them).
      ...(process.env.TEST_REDIS_CLUSTER_NODES ? { REDIS_CLUSTER_NODES: process.env.TEST_REDIS_CLUSTER_NODES } : {}),
      ...(process.env.TEST_QUEUE_SHARDS ? { QUEUE_SHARDS: process.env.TEST_QUEUE_SHARDS } : {}),
      ...o.env,
    },
  });
  const connector = await createConnector(stack.config, {
    trustedKeysDir: stack.keysDir,
    logger: createLogger({ level: 'silent', format: 'json' }),
    retryPolicy: new RetryPolicy({ baseMs: 20, capMs: 300 }),
    ...o.connector,
  });
  // The poller keeps trying while the connector is not listening yet (start: false).
  const poller = stack.config.onec.mode === 'pull' && o.poller !== false ? pullPoller(stack, () => connector, o.poller || {}) : null;
  if (o.start !== false) await connector.start();
  poller?.start();
  return {
    stack,
    connector,
    poller,
    async stop() {
      await poller?.stop();
      await connector.stop().catch(() => undefined);
      await cleanupPrefix(stack.config.queuePrefix);
      await stack.stop();
    },
  };
}

/** Ids and seqs 1C stored for one chat, in arrival order. */
export function storedOf(stack: LocalStack, chatKey: string): { id: string; seq: number | null }[] {
  return stack.onec.state().messages.byChat[chatKey] ?? [];
}
