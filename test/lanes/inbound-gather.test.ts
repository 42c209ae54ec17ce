/**
 * Issue 19 item 7: many chats with one message each go to 1C in shared calls — a driver
 * gathers chats into one `POST /messages` of up to ONEC_BATCH_MAX — and each chat's
 * messages still arrive once, in seq order.
 */
import { afterEach, expect, it } from 'vitest';
import type { NewInboundMessage } from '../../src/core/index.ts';
import { fakeMessage } from '../../src/infra/fake-messages.ts';
import { InboundPipeline } from '../../src/lanes/inbound-pipeline.js';
import { OnecClient } from '../../src/onec/onec-client.ts';
import { OnecEmulator } from '../../src/onec/emulator/index.ts';
import { cleanupPrefix, newRedis, REDIS_URL, uniquePrefix, until } from '../helpers/redis.ts';

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

it('300 chats × 2 messages reach 1C in about messages ÷ batch calls, each chat in order', async () => {
  const prefix = uniquePrefix('gather');
  const emu = new OnecEmulator({ latency: { perCallMs: 5 } });
  await emu.start();
  const redis = newRedis();
  const onec = new OnecClient({ baseUrl: emu.url, user: 'service', password: 'service-pass', maxSessions: 1, batchMax: 100 });
  // Five kicks at a time: without gathering, at most 5 chats × 2 messages could share a call.
  const pipeline = new InboundPipeline({
    redis,
    bullConnection: { url: REDIS_URL },
    prefix,
    deliverer: onec,
    batchMax: 100,
    concurrency: 5,
  });
  stops.push(async () => {
    await pipeline.close();
    await onec.close();
    await emu.stop();
    redis.disconnect();
    await cleanupPrefix(prefix);
  });
  const chats = 300;
  const per = 2;
  const batch: NewInboundMessage[] = [];
  for (let n = 1; n <= per; n++) for (let c = 0; c < chats; c++) batch.push(fakeMessage(c, n));
  for (let i = 0; i < batch.length; i += 100) await pipeline.ingest(batch.slice(i, i + 100));
  await pipeline.start();
  await until(() => emu.state().messages.stored === chats * per, { what: 'all stored', timeoutMs: 60_000 });
  const st = emu.state();
  // The minimum is 600 ÷ 100 = 6 calls; one chat per call would be 300.
  expect(st.calls.messages).toBeLessThanOrEqual(9);
  for (const refs of Object.values(st.messages.byChat)) expect(refs.map((r) => r.seq)).toEqual([1, 2]);
  expect(Object.keys(st.messages.byChat)).toHaveLength(chats);
});
