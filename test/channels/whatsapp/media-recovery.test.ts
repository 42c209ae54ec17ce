/**
 * Issue 15 item 6: expired media comes back. Baileys' real downloadMediaMessage runs against
 * a stubbed fetch (no network): 404/410 → updateMediaMessage (the phone re-uploads) → the
 * file is downloaded, decrypted by Baileys and delivered as an `edit` follow-up; a hanging
 * fetch times out. The re-upload wait never blocks the account's other chats.
 */
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { getMediaKeys, type WAMessage } from '@whiskeysockets/baileys';
import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import type { WhatsappConnector } from '../../../src/channels/whatsapp/whatsapp-connector.ts';
import { cleanupPrefix, newRedis, uniquePrefix } from '../../helpers/redis.ts';
import { openConnector, PN, wa } from './helpers.ts';

const prefix = uniquePrefix('wa-media');
const redis = newRedis();
const connectors: WhatsappConnector[] = [];
afterEach(async () => {
  vi.unstubAllGlobals();
  for (const c of connectors.splice(0)) for (const r of c.runners()) await r.stop();
});
afterAll(async () => {
  redis.disconnect();
  await cleanupPrefix(prefix);
});

/** What WhatsApp's media server holds: AES-256-CBC of the file + a 10-byte MAC (Baileys' format). */
async function encrypt(plain: Buffer, mediaKey: Buffer): Promise<Buffer> {
  const { iv, cipherKey, macKey } = await getMediaKeys(mediaKey, 'image');
  const c = createCipheriv('aes-256-cbc', cipherKey, iv);
  const enc = Buffer.concat([c.update(plain), c.final()]);
  const mac = createHmac('sha256', macKey!)
    .update(Buffer.concat([iv, enc]))
    .digest()
    .subarray(0, 10);
  return Buffer.concat([enc, mac]);
}

function image(id: string, mediaKey: Buffer, directPath: string): WAMessage {
  return wa(id, {
    imageMessage: {
      url: `https://mmg.whatsapp.net${directPath}`,
      directPath,
      mediaKey,
      mimetype: 'image/jpeg',
      fileSha256: randomBytes(32),
      fileLength: 12,
      caption: 'my receipt',
    },
  });
}

describe('media re-upload (real downloadMediaMessage, stubbed fetch)', () => {
  it.each([404, 410])('%s → forwarded at once (pending), other chats flow, re-upload once, file follows as an edit', async (status) => {
    const plain = Buffer.from('jpeg-bytes-ok');
    const mediaKey = randomBytes(32);
    const body = await encrypt(plain, mediaKey);
    const urls: string[] = [];
    vi.stubGlobal('fetch', async (url: string) => {
      urls.push(url);
      if (url.includes('/old')) return new Response('gone', { status });
      return new Response(body, { status: 200 });
    });
    const { connector, sock, sink, media } = await openConnector(redis, prefix, `re${status}`, {
      runnerOptions: { inbound: { retryBaseMs: 1, retryMaxMs: 5, mediaTimeoutMs: 5_000 } },
    });
    connectors.push(connector);
    let release!: () => void;
    const phoneAnswers = new Promise<void>((r) => (release = r));
    let reuploads = 0;
    Object.assign(sock, {
      updateMediaMessage: async (m: WAMessage) => {
        reuploads += 1;
        await phoneAnswers; // the sender's phone is slow
        m.message!.imageMessage!.directPath = '/v/t62/new';
        m.message!.imageMessage!.url = 'https://mmg.whatsapp.net/v/t62/new';
        return m;
      },
    });
    sock.upsert([image('IMG1', mediaKey, '/v/t62/old')], 'notify');
    sock.upsert([wa('T2', { conversation: 'another chat, not blocked' }, { remoteJid: '79990000077@s.whatsapp.net' })], 'notify');
    await sink.waitFor(2); // both arrive while the phone has not answered yet
    const chat = `wa:re${status}:${PN}`;
    expect(sink.stored[0]).toMatchObject({
      id: `${chat}:IMG1`,
      kind: 'photo',
      media: [],
      text: expect.stringMatching(/^my receipt\n\[attachment pending/),
    });
    expect(sink.stored[1].text).toBe('another chat, not blocked');
    release();
    await sink.waitFor(3);
    expect(reuploads).toBe(1);
    const edit = sink.stored[2];
    expect(edit).toMatchObject({ id: `${chat}:IMG1:media`, kind: 'edit', target: `${chat}:IMG1`, text: 'my receipt' });
    expect(edit.media).toHaveLength(1);
    expect(media.files.get(edit.media[0].id)?.bytes.toString()).toBe('jpeg-bytes-ok');
    expect(urls.some((u) => u.includes('/new'))).toBe(true);
  });

  it('a hanging fetch times out: forwarded pending, then an edit that says the file is lost (never silent)', async () => {
    vi.stubGlobal('fetch', () => new Promise<never>(() => undefined));
    const { connector, sock, sink } = await openConnector(redis, prefix, 'hang', {
      runnerOptions: { inbound: { retryBaseMs: 1, retryMaxMs: 5, mediaTimeoutMs: 50 } },
    });
    connectors.push(connector);
    let reuploads = 0;
    Object.assign(sock, { updateMediaMessage: async (m: WAMessage) => (reuploads++, m) });
    sock.upsert([image('IMG2', randomBytes(32), '/v/t62/slow')], 'notify');
    await sink.waitFor(2);
    expect(sink.stored[0].text).toMatch(/attachment pending/);
    expect(sink.stored[1]).toMatchObject({
      kind: 'edit',
      media: [],
      text: expect.stringMatching(/could not be downloaded.*longer than 50 ms/),
    });
    expect(reuploads).toBe(0);
  });
});
