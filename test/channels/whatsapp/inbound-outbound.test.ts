import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { proto, type WAMessage, type WAMessageKey } from '@whiskeysockets/baileys';
import { Readable } from 'node:stream';
import { createWhatsappConnector, type WhatsappConnector } from '../../../src/channels/whatsapp/whatsapp-connector.ts';
import { RemoteRefusedError, UnreachableError, silentLogger, type OutboundMessage } from '../../../src/core/index.ts';
import { cleanupPrefix, newRedis, uniquePrefix } from '../../helpers/redis.ts';
import { FakeSocketFactory, MemoryMediaStore, MemorySink, MemoryStatusSink, boom } from './fakes.ts';

const PN = '79991234567@s.whatsapp.net';
const LID = '123456789012345@lid';

function wa(id: string, message: Record<string, unknown>, key: Partial<WAMessageKey> = {}): WAMessage {
  const m = proto.WebMessageInfo.fromObject({
    key: { remoteJid: PN, fromMe: false, id, ...key },
    message,
    messageTimestamp: 1_764_324_000,
    pushName: 'Ivan',
  }) as WAMessage;
  Object.assign(m.key, key);
  return m;
}

describe('WhatsApp inbound and outbound through a runner (Baileys event buffer, real Redis)', () => {
  const prefix = uniquePrefix('wa-io');
  const redis = newRedis();
  const connectors: WhatsappConnector[] = [];
  afterEach(async () => {
    for (const c of connectors.splice(0)) for (const r of c.runners()) await r.stop();
  });
  afterAll(async () => {
    redis.disconnect();
    await cleanupPrefix(prefix);
  });

  async function setup(account: string, media = new MemoryMediaStore()) {
    const fake = new FakeSocketFactory();
    const statuses = new MemoryStatusSink();
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
      // these tests send to people who did not write first (the gate has its own test)
      firstContact: { accounts: [account], perHour: 1000, perDay: 1000 },
      runnerOptions: {
        inbound: {
          retryBaseMs: 1,
          retryMaxMs: 5,
          download: async () => Readable.from([Buffer.from('fake-jpeg-bytes')]),
        },
      },
    });
    connectors.push(connector);
    const sink = new MemorySink();
    const runner = connector.runner(account)!;
    await runner.start(sink);
    const sock = await fake.nth(1);
    sock.open();
    return { connector, runner, sink, sock, statuses, media };
  }

  it('notify and append are both ingested in order; a duplicate is deduped by id; our own messages are skipped', async () => {
    const { sink, sock } = await setup('in1');
    sock.upsert([wa('A', { conversation: 'first' })], 'notify');
    sock.upsert([wa('B', { conversation: 'offline 1' }), wa('C', { conversation: 'offline 2' })], 'append');
    sock.upsert([wa('OWN', { conversation: 'typed on the phone' }, { fromMe: true })], 'notify');
    sock.upsert([wa('A', { conversation: 'first' })], 'notify'); // redelivery
    sock.upsert([wa('D', { conversation: 'last' })], 'notify');
    await sink.waitFor(4);
    const chat = `wa:in1:${PN}`;
    expect(sink.stored.map((m) => m.id)).toEqual(['A', 'B', 'C', 'D'].map((x) => `${chat}:${x}`));
    expect(sink.calls.flat()).toEqual(['A', 'B', 'C', 'A', 'D'].map((x) => `${chat}:${x}`));
  });

  it('an ingest that fails is retried inside the handler and order is kept', async () => {
    const { sink, sock } = await setup('in2');
    sink.failures = 2;
    sock.upsert([wa('M1', { conversation: 'one' })], 'notify');
    sock.upsert([wa('M2', { conversation: 'two' })], 'notify');
    await sink.waitFor(2);
    const chat = `wa:in2:${PN}`;
    expect(sink.stored.map((m) => m.id)).toEqual([`${chat}:M1`, `${chat}:M2`]);
    expect(sink.calls.map((c) => c[0])).toEqual([`${chat}:M1`, `${chat}:M1`, `${chat}:M1`, `${chat}:M2`]);
  });

  it('PN- and LID-addressed messages of one person land in one chat; groups use the participant', async () => {
    const { sink, sock } = await setup('in3');
    sock.upsert([wa('P1', { conversation: 'by phone number' }, { remoteJid: PN, remoteJidAlt: LID, addressingMode: 'pn' })], 'notify');
    sock.upsert([wa('L1', { conversation: 'by lid' }, { remoteJid: LID, addressingMode: 'lid' })], 'notify');
    sock.upsert(
      [wa('G1', { conversation: 'group' }, { remoteJid: '120363000000000001@g.us', participant: LID, participantAlt: PN })],
      'notify',
    );
    await sink.waitFor(3);
    const [p, l, g] = sink.stored;
    expect(p.chatId).toBe(`wa:in3:${PN}`);
    expect(l.chatId).toBe(p.chatId);
    expect(l.sender).toMatchObject({ id: `wa:${PN}`, phone: '+79991234567', name: 'Ivan' });
    expect(g).toMatchObject({ chatId: 'wa:in3:120363000000000001@g.us', chat: { type: 'group' }, sender: { id: `wa:${PN}` } });
  });

  it('media is stored at arrival; a too-large file still flows with a note', async () => {
    const { sink, sock, media } = await setup('in4', new MemoryMediaStore(1000));
    sock.upsert(
      [wa('I1', { imageMessage: { caption: 'pic', mimetype: 'image/jpeg', fileLength: 15, fileSha256: Buffer.alloc(32, 1) } })],
      'notify',
    );
    sock.upsert([wa('V1', { videoMessage: { caption: 'huge', mimetype: 'video/mp4', fileLength: 50_000_000 } })], 'notify');
    await sink.waitFor(2);
    const [img, vid] = sink.stored;
    expect(img.media).toHaveLength(1);
    expect(media.files.get(img.media[0].id)!.bytes.toString()).toBe('fake-jpeg-bytes');
    expect(img.text).toBe('pic');
    expect(vid).toMatchObject({ kind: 'video', media: [] });
    expect(vid.text).toMatch(/^huge\n\[attachment not stored: .*larger than/);
  });

  it('send: text and reply (quoted by our id), receipts → statuses, getMessage serves what we sent', async () => {
    const { connector, sink, sock, statuses } = await setup('out1');
    sock.upsert([wa('Q1', { conversation: 'a question' })], 'notify');
    await sink.waitFor(1);
    const chatId = `wa:out1:${PN}`;
    const msg: OutboundMessage = {
      id: 'op-1',
      chatId,
      text: 'an answer',
      media: [],
      replyTo: `${chatId}:Q1`,
      operatorId: 'ivanov',
      createdAt: new Date().toISOString(),
    };
    const res = await connector.send(msg);
    expect(res.nativeIds).toHaveLength(1);
    expect(sock.sent[0]).toMatchObject({ jid: PN, content: { text: 'an answer' } });
    expect(sock.sent[0].options?.quoted?.key).toMatchObject({ id: 'Q1', remoteJid: PN });
    expect(sock.sent[0].options?.quoted?.message?.conversation).toBe('a question');

    const waId = res.nativeIds[0];
    const served = await sock.input.getMessage({ remoteJid: PN, fromMe: true, id: waId });
    expect(served?.extendedTextMessage?.text).toBe('an answer');
    expect(await sock.input.getMessage({ remoteJid: PN, fromMe: true, id: 'unknown' })).toBeUndefined();

    // receipts as Baileys emits them (handleReceipt): messages.update for 1:1, message-receipt.update for groups
    sock.ev.emit('messages.update', [
      {
        key: { remoteJid: PN, fromMe: true, id: waId },
        update: { status: proto.WebMessageInfo.Status.DELIVERY_ACK, messageTimestamp: 1_764_324_100 },
      },
    ]);
    sock.ev.emit('messages.update', [
      { key: { remoteJid: PN, fromMe: true, id: 'not-ours' }, update: { status: proto.WebMessageInfo.Status.READ } },
    ]);
    sock.ev.emit('messages.update', [
      {
        key: { remoteJid: PN, fromMe: true, id: waId },
        update: { status: proto.WebMessageInfo.Status.READ, messageTimestamp: 1_764_324_200 },
      },
    ]);
    sock.ev.emit('message-receipt.update', [
      { key: { remoteJid: 'g@g.us', fromMe: true, id: waId }, receipt: { userJid: PN, readTimestamp: 1_764_324_300 } },
    ]);
    await statuses.waitFor(3);
    expect(statuses.events.map((e) => [e.id, e.status, e.at])).toEqual([
      ['op-1', 'delivered', new Date(1_764_324_100_000).toISOString()],
      ['op-1', 'read', new Date(1_764_324_200_000).toISOString()],
      ['op-1', 'read', new Date(1_764_324_300_000).toISOString()],
    ]);
  });

  it('media kinds map to Baileys contents; errors are classified', async () => {
    const { connector, runner, sock } = await setup('out2');
    const chatId = `wa:out2:${LID}`;
    const base = { chatId, replyTo: null, operatorId: null, createdAt: new Date().toISOString() };
    await connector.send({
      ...base,
      id: 'm1',
      text: 'caption',
      media: [
        { base64: Buffer.from('img').toString('base64'), mime: 'image/png' },
        { base64: Buffer.from('ogg').toString('base64'), mime: 'audio/ogg' },
        { url: 'https://example.invalid/a.pdf', mime: 'application/pdf', fileName: 'a.pdf' },
      ],
    });
    expect(sock.sent.map((s) => Object.keys(s.content).filter((k) => ['image', 'audio', 'document', 'text'].includes(k))[0])).toEqual([
      'image',
      'audio',
      'document',
    ]);
    expect(sock.sent[0].content).toMatchObject({ caption: 'caption' });
    expect(sock.sent[1].content).toMatchObject({ ptt: true });
    // The url is fetched by the media store's guarded fetch and handed to Baileys as bytes, never as `{ url }`.
    expect(sock.sent[2].content).toMatchObject({ document: Buffer.from('bytes of https://example.invalid/a.pdf'), fileName: 'a.pdf' });
    expect(sock.sent.every((s) => s.jid === LID)).toBe(true);

    await expect(connector.send({ ...base, id: 'm2', text: null, media: [{ url: '/etc/passwd' }] })).rejects.toMatchObject({
      code: 'invalid_media_url',
      retryable: false,
    });
    sock.failNextSend = boom(428, 'Connection Closed');
    await expect(connector.send({ ...base, id: 'm3', text: 'x', media: [] })).rejects.toBeInstanceOf(UnreachableError);
    sock.failNextSend = boom(400, 'bad request');
    const refused = await connector.send({ ...base, id: 'm4', text: 'x', media: [] }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RemoteRefusedError);
    expect((refused as RemoteRefusedError).retryable).toBe(false);

    await sock.end(boom(428));
    const notConnected = await connector.send({ ...base, id: 'm5', text: 'x', media: [] }).catch((e: unknown) => e);
    expect(notConnected).toMatchObject({ code: 'whatsapp_not_connected', retryable: true });
    expect(runner.state().state).toBe('pairing'); // the double's creds were never paired
    expect(connector.hasAccount('out2')).toBe(true);
    expect(connector.hasAccount('nope')).toBe(false);
  });
});
