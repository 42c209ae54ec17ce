import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../helpers/redis.ts';
import { startOutbound, type OutboundHarness } from './outbound-helpers.ts';

async function post(h: OutboundHarness, body: Record<string, unknown>): Promise<void> {
  const r = await h.api('POST', '/api/v1/messages', body);
  expect(r.status, JSON.stringify(r.json)).toBe(202);
}

describe.each(['push', 'pull'] as const)('outbound delivery through grammY to the emulated Bot API, ONEC_MODE=%s', (mode) => {
  let h: OutboundHarness;
  let files: Server;
  let filesUrl = '';
  beforeAll(async () => {
    h = await startOutbound({ mode });
    files = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'image/jpeg' });
      res.end(Buffer.alloc(64, 7));
    });
    await new Promise<void>((r) => files.listen(0, '127.0.0.1', () => r()));
    filesUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => files?.close(() => r()));
    await h?.stop();
  });

  it('keeps each chat in order through 429s with retry_after and 5xx bursts; statuses reach 1C once each', async () => {
    const a = await h.customer('Anna');
    const b = await h.customer('Boris');
    h.stack.telegram.injectFault(h.token, 'sendMessage', '429', 2, 1);
    const ids: string[] = [];
    for (let i = 1; i <= 6; i++) {
      for (const c of [a, b]) {
        const id = `ord-${c.chat.id}-${i}`;
        ids.push(id);
        await post(h, { id, chatId: c.key, text: `${c.chat.id} message ${i}` });
        // A burst of server errors in the middle of the stream.
        if (i === 3 && c === a) h.stack.telegram.injectFault(h.token, 'sendMessage', '500', 3);
      }
    }
    for (const id of ids) await h.statusOf(id, ['sent']);
    for (const c of [a, b]) {
      expect(h.sentTo(c.chat).map((s) => s.text)).toEqual([1, 2, 3, 4, 5, 6].map((i) => `${c.chat.id} message ${i}`));
    }
    expect(h.stack.telegram.stats(h.token).rateLimitedIssued).toBeGreaterThanOrEqual(2);
    await until(() => ids.every((id) => h.onecStatuses(id).length === 1), { what: 'every sent status at 1C' });
    for (const id of ids) expect(h.onecStatuses(id)).toEqual(['sent']);
    expect(h.stack.onec.state().statuses.duplicates.count).toBe(0);
  });

  it('a blocked user: failed with the reason, one attempt, no retry; the chat goes on after', async () => {
    const c = await h.customer('Blocker');
    h.stack.telegram.setBlocked(h.token, c.chat.id, true);
    const before = h.stack.telegram.stats(h.token).calls.sendMessage ?? 0;
    await post(h, { id: 'blocked-1', chatId: c.key, text: 'are you there?' });
    const view = await h.statusOf('blocked-1', ['failed']);
    expect(view).toMatchObject({ status: 'failed', errorCode: 'telegram_blocked' });
    expect(String(view.error)).toMatch(/blocked/);
    await until(() => h.onecStatuses('blocked-1').includes('failed'), { what: 'failed status at 1C' });
    h.stack.telegram.setBlocked(h.token, c.chat.id, false);
    await post(h, { id: 'blocked-2', chatId: c.key, text: 'after unblocking' });
    await h.statusOf('blocked-2', ['sent']);
    // One attempt for the blocked message, one for the next: the failure was not retried.
    expect((h.stack.telegram.stats(h.token).calls.sendMessage ?? 0) - before).toBe(2);
    expect(h.sentTo(c.chat).map((s) => s.text)).toEqual(['after unblocking']);
    expect(h.onecStatuses('blocked-1')).toEqual(['failed']);
  });

  it('splits a long text into ordered parts, before the next message', async () => {
    const c = await h.customer('Reader');
    const long = Array.from({ length: 30 }, (_, i) => `Paragraph ${i}. ${'word '.repeat(80).trim()}`).join('\n\n');
    expect(long.length).toBeGreaterThan(8192);
    await post(h, { id: 'long-1', chatId: c.key, text: long });
    await post(h, { id: 'long-2', chatId: c.key, text: 'short after long' });
    const v1 = await h.statusOf('long-1', ['sent']);
    await h.statusOf('long-2', ['sent']);
    const texts = h.sentTo(c.chat).map((s) => s.text ?? '');
    expect(texts.length).toBeGreaterThanOrEqual(4);
    expect(texts.slice(0, -1).join('')).toBe(long);
    expect(texts.slice(0, -1).every((t) => t.length <= 4096)).toBe(true);
    expect(texts.at(-1)).toBe('short after long');
    expect((v1.nativeIds as string[]).length).toBe(texts.length - 1);
  });

  it('sends media from a url and from base64, with the caption', async () => {
    const c = await h.customer('Viewer');
    const bytes = Buffer.from('%PDF-1.4 hello document');
    await post(h, { id: 'media-url', chatId: c.key, text: 'a photo', media: [{ url: `${filesUrl}/pic.jpg`, mime: 'image/jpeg' }] });
    await post(h, {
      id: 'media-b64',
      chatId: c.key,
      media: [{ base64: bytes.toString('base64'), mime: 'application/pdf', fileName: 'doc.pdf' }],
    });
    await h.statusOf('media-url', ['sent']);
    await h.statusOf('media-b64', ['sent']);
    const sent = h.sentTo(c.chat);
    expect(sent.map((s) => s.method)).toEqual(['sendPhoto', 'sendDocument']);
    expect(sent[0]).toMatchObject({ caption: 'a photo', file: { source: 'url', url: `${filesUrl}/pic.jpg` } });
    expect(sent[1].file?.source).toBe('upload');
    expect(sent[1].file?.fileName).toBe('doc.pdf');
    expect(sent[1].file?.bytes?.equals(bytes)).toBe(true);
  });

  it('receipts move the status forward only and reach 1C in order, once each', async () => {
    const c = await h.customer('Receipts');
    await post(h, { id: 'rcpt-1', chatId: c.key, text: 'read me' });
    await h.statusOf('rcpt-1', ['sent']);
    await until(() => h.onecStatuses('rcpt-1').includes('sent'), { what: 'sent at 1C' });
    const feed: string[] = [];
    const off = h.connector.ctx.bus.on('outbound.status', (n) => {
      if (n.event.id === 'rcpt-1') feed.push(n.event.status);
    });
    const at = new Date().toISOString();
    await h.service.report([{ id: 'rcpt-1', status: 'read', at }]);
    // A late `delivered` after `read`, and `read` again: neither changes anything.
    await h.service.report([
      { id: 'rcpt-1', status: 'delivered', at },
      { id: 'rcpt-1', status: 'read', at },
    ]);
    await h.service.report([{ id: 'unknown-outbound', status: 'delivered', at }]);
    const view = await h.statusOf('rcpt-1', ['read']);
    expect(view).toMatchObject({ status: 'read', readAt: at, deliveredAt: at });
    await until(() => h.onecStatuses('rcpt-1').length === 2, { what: 'read at 1C' });
    expect(h.onecStatuses('rcpt-1')).toEqual(['sent', 'read']);
    expect(feed).toEqual(['read']);
    expect(h.stack.onec.state().statuses.duplicates.count).toBe(0);
    off();
  });
});
