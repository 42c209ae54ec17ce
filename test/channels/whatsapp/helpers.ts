/** Shared setup for the issue-15 tests: one connector on a fake socket (Baileys' event buffer), real Redis. */
import { proto, type WAMessage, type WAMessageKey } from '@whiskeysockets/baileys';
import type { Redis } from 'ioredis';
import {
  createWhatsappConnector,
  type WhatsappConnector,
  type WhatsappConnectorOptions,
} from '../../../src/channels/whatsapp/whatsapp-connector.ts';
import { silentLogger, type StatusSink } from '../../../src/core/index.ts';
import { FakeSocketFactory, MemoryMediaStore, MemorySink, MemoryStatusSink } from './fakes.ts';

export const PN = '79991234567@s.whatsapp.net';
export const LID = '123456789012345@lid';

export function wa(
  id: string,
  message: Record<string, unknown> | null,
  key: Partial<WAMessageKey> = {},
  extra: Record<string, unknown> = {},
): WAMessage {
  const m = proto.WebMessageInfo.fromObject({
    key: { remoteJid: PN, fromMe: false, id, ...key },
    ...(message ? { message } : {}),
    messageTimestamp: 1_764_324_000,
    pushName: 'Ivan',
    ...extra,
  }) as WAMessage;
  Object.assign(m.key, key);
  return m;
}

export async function openConnector(
  redis: Redis,
  prefix: string,
  account: string,
  opts: Partial<WhatsappConnectorOptions> & { statusSink?: StatusSink } = {},
): Promise<{
  connector: WhatsappConnector;
  fake: FakeSocketFactory;
  sink: MemorySink;
  statuses: MemoryStatusSink;
  media: MemoryMediaStore;
  sock: Awaited<ReturnType<FakeSocketFactory['nth']>>;
}> {
  const fake = new FakeSocketFactory();
  const statuses = new MemoryStatusSink();
  const media = new MemoryMediaStore();
  const connector = createWhatsappConnector({
    accounts: [account],
    redis,
    prefix,
    mediaStore: media,
    statusSink: statuses,
    logger: silentLogger,
    socketFactory: fake.factory,
    minIntervalMs: 0,
    accountMinIntervalMs: 0,
    jitterMs: 0,
    ...opts,
    runnerOptions: { inbound: { retryBaseMs: 1, retryMaxMs: 5 }, ...opts.runnerOptions },
  });
  const sink = new MemorySink();
  await connector.runner(account)!.start(sink);
  const sock = await fake.nth(1);
  sock.ev.emit('creds.update', { me: { id: '79990000001:5@s.whatsapp.net', name: 'Shop' }, account: { details: Buffer.from([1]) } });
  sock.open();
  return { connector, fake, sink, statuses, media, sock };
}
