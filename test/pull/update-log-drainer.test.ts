/**
 * The drainer's gate never holds a push delivery while draining does not run: a lane's kick
 * waiting there would keep that lane's pause() (start-up, license withdrawn) from finishing.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { InboundPipeline } from '../../src/lanes/inbound-pipeline.js';
import { UpdateLog } from '../../src/lanes/update-log.js';
import type { OnecDelivery } from '../../src/onec/onec-client.ts';
import { PullLogNotDrainedError, UpdateLogDrainer } from '../../src/pull/update-log-drainer.ts';
import { cleanupPrefix, newRedis, uniquePrefix } from '../helpers/redis.ts';

const redis = newRedis();
const prefixes: string[] = [];
afterEach(async () => {
  for (const p of prefixes.splice(0)) await cleanupPrefix(p);
});
afterAll(async () => {
  await redis.quit();
});

const onec: OnecDelivery = {
  deliverMessages: async () => [],
  deliverStatuses: async () => [],
  deliverRouting: async () => [],
};

function drainer(): { d: UpdateLogDrainer; log: UpdateLog; prefix: string } {
  const prefix = uniquePrefix('drainer');
  prefixes.push(prefix);
  const log = new UpdateLog({ redis, prefix });
  const d = new UpdateLogDrainer({ log, redis, prefix, onec, inbound: {} as InboundPipeline, batchMax: 100 });
  return { d, log, prefix };
}

describe('update-log drainer gate', () => {
  it('refuses (retryable) while not started, instead of holding the delivery', async () => {
    const { d } = drainer();
    await expect(d.gate(onec).deliverStatuses([])).rejects.toBeInstanceOf(PullLogNotDrainedError);
  });

  it('lets deliveries through once started on an empty log', async () => {
    const { d } = drainer();
    d.start();
    await expect(d.gate(onec).deliverStatuses([])).resolves.toEqual([]);
    d.stop();
  });

  it('a delivery waiting for a non-empty log is released with a retryable error when draining stops', async () => {
    const { log, prefix } = drainer();
    // An update left from pull mode, as the lanes' handoff writes it.
    await redis.xadd(log.streamKey, '*', 't', 'status', 'u', '{"id":"x","status":"sent"}');
    // 1C refuses, so the log stays non-empty and the gate keeps waiting.
    const refusing = new UpdateLogDrainer({
      log,
      redis,
      prefix,
      onec: { ...onec, deliverStatuses: async () => Promise.reject(new Error('1C down')) },
      inbound: {} as InboundPipeline,
      batchMax: 100,
    });
    refusing.start();
    const waiting = refusing.gate(onec).deliverStatuses([]);
    refusing.stop();
    await expect(waiting).rejects.toBeInstanceOf(PullLogNotDrainedError);
  });
});
