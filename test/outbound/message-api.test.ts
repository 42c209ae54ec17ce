import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../helpers/redis.ts';
import { startOutbound, type OutboundHarness } from './outbound-helpers.ts';

let h: OutboundHarness;
beforeAll(async () => {
  h = await startOutbound({ feature: { maxMediaBytes: 1000 } });
});
afterAll(async () => {
  await h?.stop();
});

describe('POST /api/v1/messages: auth and validation', () => {
  it('401 without the bearer token', async () => {
    const r = await h.api('POST', '/api/v1/messages', { id: 'a', chatId: 'tg:x:1', text: 'hi' }, { auth: false });
    expect(r.status).toBe(401);
    expect(r.json).toMatchObject({ error: { code: 'unauthorized' } });
  });

  it('400 names the field', async () => {
    const { key } = await h.customer('Validation');
    const cases: [unknown, string][] = [
      [{ chatId: key, text: 'x' }, 'Field "id" is required.'],
      [{ id: 'v1', text: 'x' }, 'Field "chatId" is required.'],
      [{ id: 'x'.repeat(201), chatId: key, text: 'x' }, 'Field "id" must be at most 200 characters long.'],
      [{ id: 'v1', chatId: 'nonsense', text: 'x' }, 'Field "chatId" must be a chat key'],
      [{ id: 'v1', chatId: key }, 'Field "text" is required when there is no media.'],
      [{ id: 'v1', chatId: key, text: 5 }, 'Field "text" must be a string.'],
      [
        { id: 'v1', chatId: key, media: [{ url: 'http://127.0.0.1/a.jpg', base64: 'AAAA' }] },
        'Field "media[0]" needs exactly one of "url", "base64" or "mediaId".',
      ],
      [{ id: 'v1', chatId: key, media: [{ url: 'file:///etc/passwd' }] }, 'Field "media[0].url" must be an http or https URL.'],
      [{ id: 'v1', chatId: key, media: [{ base64: 'not base64!' }] }, 'Field "media[0].base64" must be base64-encoded bytes.'],
      [{ id: 'v1', chatId: key, media: [{ base64: 'AAAA', kind: 'sticker' }] }, 'Field "media[0].kind" must be one of'],
    ];
    for (const [body, message] of cases) {
      const r = await h.api('POST', '/api/v1/messages', body);
      expect(r.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(r.json).toMatchObject({ error: { code: 'invalid_request' } });
      expect((r.json.error as { message: string }).message).toContain(message);
    }
  });

  it('MIME types are anchored to type/subtype(;params); empty files, NUL and lone surrogates are 400 naming the field', async () => {
    const { key } = await h.customer('Hardening');
    const png = Buffer.from('png').toString('base64');
    const cases: [unknown, string][] = [
      [
        { id: 'h1', chatId: key, media: [{ base64: png, mime: 'text/html\r\nSet-Cookie: x' }] },
        'Field "media[0].mime" must be a MIME type',
      ],
      [{ id: 'h1', chatId: key, media: [{ base64: png, mime: 'image/png garbage' }] }, 'Field "media[0].mime" must be a MIME type'],
      [{ id: 'h1', chatId: key, media: [{ base64: png, mime: 'image/' }] }, 'Field "media[0].mime" must be a MIME type'],
      [{ id: 'h1', chatId: key, media: [{ base64: png, mime: 'image/png;x' }] }, 'Field "media[0].mime" must be a MIME type'],
      [{ id: 'h1', chatId: key, media: [{ base64: '=' }] }, 'Field "media[0].base64" must not be an empty file.'],
      [{ id: 'h1', chatId: key, media: [{ base64: 'A' }] }, 'Field "media[0].base64" must not be an empty file.'],
      [{ id: 'h1', chatId: key, text: 'a\u0000b' }, 'Field "text" must not contain NUL characters.'],
      [{ id: 'h1', chatId: key, text: 'broken \ud83d pair' }, 'Field "text" must be valid Unicode text'],
      [{ id: 'h1', chatId: key, text: 'x', replyTo: '\udc00' }, 'Field "replyTo" must be valid Unicode text'],
      [
        { id: 'h1', chatId: key, media: [{ base64: png, fileName: 'a\ud800.png' }] },
        'Field "media[0].fileName" must be valid Unicode text',
      ],
    ];
    for (const [body, message] of cases) {
      const r = await h.api('POST', '/api/v1/messages', body);
      expect(r.status, JSON.stringify(body).slice(0, 100)).toBe(400);
      expect((r.json.error as { message: string }).message).toContain(message);
    }
    // A well-formed type with parameters (and a real surrogate pair) is accepted.
    const ok = await h.api('POST', '/api/v1/messages', {
      id: 'h-ok',
      chatId: key,
      text: 'emoji 😀',
      media: [{ base64: png, mime: 'text/plain; charset="utf-8"', fileName: 'a.txt' }],
    });
    expect(ok.status).toBe(202);
  });

  it('413 for a base64 item above the limit, naming the field', async () => {
    const { key } = await h.customer('Big');
    const r = await h.api('POST', '/api/v1/messages', {
      id: 'big-1',
      chatId: key,
      media: [{ base64: Buffer.alloc(2000).toString('base64') }],
    });
    expect(r.status).toBe(413);
    expect(r.json).toMatchObject({ error: { code: 'media_too_large' } });
    expect((r.json.error as { message: string }).message).toContain('media[0].base64');
  });

  it('404 unknown_account, may_not_write_first (a chat that never wrote), unknown_media and unknown_message', async () => {
    const { key } = await h.customer('Known');
    const acc = await h.api('POST', '/api/v1/messages', { id: 'n1', chatId: 'tg:no_such_bot:5', text: 'x' });
    expect(acc.status).toBe(404);
    expect(acc.json).toMatchObject({ error: { code: 'unknown_account' } });
    const chat = await h.api('POST', '/api/v1/messages', { id: 'n2', chatId: `tg:${key.split(':')[1]}:424242`, text: 'x' });
    expect(chat.status).toBe(404);
    expect(chat.json).toMatchObject({ error: { code: 'may_not_write_first' } });
    const media = await h.api('POST', '/api/v1/messages', { id: 'n3', chatId: key, media: [{ mediaId: 'nope' }] });
    expect(media.status).toBe(404);
    expect(media.json).toMatchObject({ error: { code: 'unknown_media' } });
    const msg = await h.api('GET', '/api/v1/messages/never-sent');
    expect(msg.status).toBe(404);
    expect(msg.json).toMatchObject({ error: { code: 'unknown_message' } });
    // Nothing of the refused requests was stored.
    expect((await h.api('GET', '/api/v1/messages/n2')).status).toBe(404);
  });
});

describe('POST /api/v1/messages: idempotency', () => {
  it('the same id twice in parallel: one 202, one 200, one send', async () => {
    const { chat, key } = await h.customer('Racer');
    const body = { id: 'race-1', chatId: key, text: 'only once, please' };
    const answers = await Promise.all(Array.from({ length: 6 }, () => h.api('POST', '/api/v1/messages', body)));
    const codes = answers.map((a) => a.status).sort();
    expect(codes).toEqual([200, 200, 200, 200, 200, 202]);
    expect(answers.find((a) => a.status === 202)?.json).toEqual({ id: 'race-1', status: 'queued' });
    for (const a of answers.filter((x) => x.status === 200)) expect(a.json).toMatchObject({ id: 'race-1', chatId: key });
    const view = await h.statusOf('race-1', ['sent']);
    expect(view.nativeIds).toEqual([expect.stringMatching(new RegExp(`^${key}:\\d+$`))]);
    // 1C has the `sent` status: the send is complete; a late repeat still sends nothing.
    await until(() => h.onecStatuses('race-1').includes('sent'), { what: 'sent status at 1C' });
    const again = await h.api('POST', '/api/v1/messages', body);
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ id: 'race-1', status: 'sent', nativeIds: view.nativeIds });
    expect(h.sentTo(chat).filter((s) => s.text === 'only once, please')).toHaveLength(1);
  });

  it('the same id with a different body is a 409 id_conflict', async () => {
    const { key } = await h.customer('Conflict');
    expect((await h.api('POST', '/api/v1/messages', { id: 'conf-1', chatId: key, text: 'first' })).status).toBe(202);
    const r = await h.api('POST', '/api/v1/messages', { id: 'conf-1', chatId: key, text: 'second' });
    expect(r.status).toBe(409);
    expect(r.json).toMatchObject({ error: { code: 'id_conflict' } });
  });

  it('base64 media is spooled to the media store: the queue carries an id, and a retried POST is the same message', async () => {
    const { key } = await h.customer('Spool');
    // Pause sending so the message stays in the queue where we can look at it.
    await h.service.pause();
    try {
      const body = {
        id: 'spool-1',
        chatId: key,
        text: 'фото',
        media: [{ base64: Buffer.from('png bytes').toString('base64'), mime: 'image/png' }],
      };
      expect((await h.api('POST', '/api/v1/messages', body)).status).toBe(202);
      const [queued] = await h.service.lane.pending(key);
      expect(queued.body.media).toEqual([{ mediaId: expect.any(String), mime: 'image/png' }]);
      expect(JSON.stringify(queued.body)).not.toContain(body.media[0].base64);
      expect((await h.connector.ctx.media.open(queued.body.media[0].mediaId!))?.ref.size).toBe(9);
      const again = await h.api('POST', '/api/v1/messages', body);
      expect(again.status).toBe(200);
    } finally {
      await h.service.resume();
    }
  });
});
