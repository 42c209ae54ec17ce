/**
 * A connector between the emulators, for end-to-end tests: the real composition root,
 * real grammY against the emulated Bot API, the 1C emulator, a real Redis, with short
 * locks and a fast retry policy so failures heal in test time.
 */
import { createConnector, type Connector, type ConnectorOptions } from '../../src/connector.ts';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../src/infra/local-stack.ts';
import { createLogger } from '../../src/infra/logger.ts';
import { RetryPolicy } from '../../src/queues/retry-policy.ts';
import { cleanupPrefix } from './redis.ts';

export interface TestStack {
  stack: LocalStack;
  connector: Connector;
  stop(): Promise<void>;
}

export async function startTestStack(o: LocalStackOptions & { connector?: ConnectorOptions; start?: boolean } = {}): Promise<TestStack> {
  const stack = await startLocalStack({
    ...o,
    onec: { sessionMaxAgeS: 3, ...o.onec },
    env: { LANE_LOCK_MS: '1500', LANE_SWEEP_MS: '300', ONEC_IDLE_FINISH_MS: '300', ONEC_SESSION_MAX_AGE_S: '3', ...o.env },
  });
  const connector = await createConnector(stack.config, {
    trustedKeysDir: stack.keysDir,
    logger: createLogger({ level: 'silent', format: 'json' }),
    retryPolicy: new RetryPolicy({ baseMs: 20, capMs: 300 }),
    ...o.connector,
  });
  if (o.start !== false) await connector.start();
  return {
    stack,
    connector,
    async stop() {
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
