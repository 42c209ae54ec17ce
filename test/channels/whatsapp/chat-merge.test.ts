/**
 * Issue 15 item 7: a person seen first by phone number only, then by LID only without a
 * mapping, had two chat keys. When the mapping appears (`lid-mapping.update`, or a message
 * carrying `remoteJidAlt`), the later key is merged into the first: its messages flow under
 * the first key from then on, and 1C is told once.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { WhatsappConnector } from '../../../src/channels/whatsapp/whatsapp-connector.ts';
import { cleanupPrefix, newRedis, uniquePrefix } from '../../helpers/redis.ts';
import { LID, openConnector, PN, wa } from './helpers.ts';

const prefix = uniquePrefix('wa-merge');
const redis = newRedis();
const connectors: WhatsappConnector[] = [];
afterEach(async () => {
  for (const c of connectors.splice(0)) for (const r of c.runners()) await r.stop();
});
afterAll(async () => {
  redis.disconnect();
  await cleanupPrefix(prefix);
});

describe('PN first, then LID without a mapping', () => {
  it('lid-mapping.update merges the LID chat into the PN chat; one notice; later LID messages use the PN key', async () => {
    const { connector, sock, sink } = await openConnector(redis, prefix, 'm1');
    connectors.push(connector);
    sock.upsert([wa('A1', { conversation: 'by phone' })], 'notify');
    sock.upsert([wa('A2', { conversation: 'by lid, no mapping yet' }, { remoteJid: LID })], 'notify');
    await sink.waitFor(2);
    expect(sink.stored.map((m) => m.chatId)).toEqual([`wa:m1:${PN}`, `wa:m1:${LID}`]);
    sock.ev.emit('lid-mapping.update', { pn: PN, lid: LID });
    sock.ev.emit('lid-mapping.update', { pn: PN, lid: LID }); // again: no second notice
    sock.upsert([wa('A3', { conversation: 'by lid again' }, { remoteJid: LID })], 'notify');
    await sink.waitFor(4);
    expect(sink.stored.slice(2).map((m) => [m.chatId, m.kind])).toEqual([
      [`wa:m1:${PN}`, 'service'],
      [`wa:m1:${PN}`, 'text'],
    ]);
    expect(sink.stored[2].text).toContain(`wa:m1:${LID}`);
    expect(sink.stored.filter((m) => m.kind === 'service')).toHaveLength(1);
  });

  it('a message carrying remoteJidAlt merges too, with the notice before the message', async () => {
    const { connector, sock, sink } = await openConnector(redis, prefix, 'm2');
    connectors.push(connector);
    sock.upsert([wa('B1', { conversation: 'by phone' })], 'notify');
    sock.upsert([wa('B2', { conversation: 'by lid' }, { remoteJid: LID })], 'notify');
    sock.upsert([wa('B3', { conversation: 'by lid, with alt' }, { remoteJid: LID, remoteJidAlt: PN })], 'notify');
    await sink.waitFor(4);
    expect(sink.stored.map((m) => [m.chatId, m.kind])).toEqual([
      [`wa:m2:${PN}`, 'text'],
      [`wa:m2:${LID}`, 'text'],
      [`wa:m2:${PN}`, 'service'],
      [`wa:m2:${PN}`, 'text'],
    ]);
  });
});

describe('the mapping comes from Baileys’ real LIDMappingStore over our Redis key store', () => {
  it('what LIDMappingStore stores, lidMappingFromKeys reads (both directions)', async () => {
    const { LIDMappingStore } = await import('@whiskeysockets/baileys/lib/Signal/lid-mapping.js');
    const { addTransactionCapability } = await import('@whiskeysockets/baileys');
    const { useRedisAuthState } = await import('../../../src/channels/whatsapp/auth-state-redis.ts');
    const { lidMappingFromKeys } = await import('../../../src/channels/whatsapp/inbound-identity.ts');
    const { toBaileysLogger } = await import('../../../src/channels/whatsapp/baileys-logger.ts');
    const { silentLogger } = await import('../../../src/core/index.ts');
    const auth = await useRedisAuthState({ redis, prefix, account: 'lidstore', logger: silentLogger });
    const logger = toBaileysLogger(silentLogger);
    const keys = addTransactionCapability(auth.rawKeys, logger, { maxCommitRetries: 2, delayBetweenTriesMs: 1 });
    const store = new LIDMappingStore(keys, logger, async () => undefined);
    await store.storeLIDPNMappings([{ lid: LID, pn: PN }]);
    await auth.flush();
    const mapping = lidMappingFromKeys(auth.rawKeys);
    expect(await mapping.pnForLid(LID)).toBe(PN);
    expect(await mapping.lidForPn(PN)).toBe(LID);
  });
});
