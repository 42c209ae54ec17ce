/**
 * Regression for issue 11 item 8 (SSRF): an outbound media `url` was fetched from the
 * connector host with no address check and no size cap (WhatsApp path: Baileys fetched
 * `{ url }` itself). This machine may connect to loopback only: every "inner address"
 * case below is refused before any connection, and the resolver is injected.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildContents } from '../../src/channels/whatsapp/outbound-send.ts';
import { ConnectorError, type OutboundMessage } from '../../src/core/index.ts';
import { FileMediaStore } from '../../src/media/file-media-store.ts';
import { MediaFetcher, type Resolver } from '../../src/media/media-fetch.ts';

let server: Server;
let port = 0;
const hits: string[] = [];
const handlers = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>();

beforeAll(async () => {
  server = createServer((req, res) => {
    hits.push(`${req.headers.host} ${req.url}`);
    const h = handlers.get(req.url ?? '');
    if (h) h(req, res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
  handlers.set('/file.pdf', (_q, s) => s.writeHead(200, { 'content-type': 'application/pdf' }).end('%PDF-1.4 hello'));
  handlers.set('/big-chunked', (_q, s) => {
    s.writeHead(200, { 'content-type': 'application/octet-stream' });
    for (let i = 0; i < 10; i++) s.write(Buffer.alloc(1000, 1));
    s.end();
  });
  handlers.set('/big-declared', (_q, s) => s.writeHead(200, { 'content-length': '5000' }).end(Buffer.alloc(5000)));
  handlers.set('/hang', () => undefined);
  handlers.set('/to-inner', (_q, s) => s.writeHead(302, { location: `http://inner.test:${port}/secret` }).end());
  handlers.set('/to-file', (_q, s) => s.writeHead(301, { location: '/file.pdf' }).end());
  handlers.set('/loop', (_q, s) => s.writeHead(302, { location: '/loop' }).end());
  handlers.set('/secret', (_q, s) => s.writeHead(200).end('secret'));
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

/** A fixed DNS: names of this test → addresses; counts lookups. */
function resolver(map: Record<string, string[]>): Resolver & { calls: string[] } {
  const calls: string[] = [];
  const r: Resolver = async (host) => {
    calls.push(host);
    const a = map[host];
    if (!a) throw new Error(`ENOTFOUND ${host}`);
    return a.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return Object.assign(r, { calls });
}

const fetcher = (o: { allow?: string[]; maxBytes?: number; timeoutMs?: number; dns?: Record<string, string[]> } = {}) =>
  new MediaFetcher({
    maxBytes: o.maxBytes ?? 1_000_000,
    timeoutMs: o.timeoutMs ?? 10_000,
    allow: o.allow,
    resolver: resolver(o.dns ?? {}),
  });

async function refusal(p: Promise<unknown>): Promise<ConnectorError> {
  const e = await p.then(
    () => new Error('fetched, but should have been refused'),
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ConnectorError);
  return e as ConnectorError;
}

describe('outbound media url fetch (SSRF guard)', () => {
  it('refuses http://127.0.0.1:port with one sentence, before connecting', async () => {
    const before = hits.length;
    const e = await refusal(fetcher().fetch(`http://127.0.0.1:${port}/file.pdf?token=secret-xyz`));
    expect(e.code).toBe('media_url_forbidden');
    expect(e.retryable).toBe(false);
    expect(e.message).toBe(
      `media url http://127.0.0.1:${port}/file.pdf resolves to a loopback address (127.0.0.1); add the host to OUTBOUND_MEDIA_ALLOW to allow it.`,
    );
    expect(hits.length).toBe(before);
  });

  it('refuses http://[::1]:port/ and IPv4 written inside IPv6', async () => {
    expect((await refusal(fetcher().fetch(`http://[::1]:${port}/`))).message).toContain('resolves to a loopback address (::1)');
    expect((await refusal(fetcher().fetch(`http://[::ffff:127.0.0.1]:${port}/`))).message).toContain('loopback address (127.0.0.1)');
  });

  it('refuses a name that resolves to 10.x, metadata, link-local, CGNAT, private IPv6 — no connection is made', async () => {
    const dns = {
      'files.example': ['10.1.2.3'],
      'meta.example': ['169.254.169.254'],
      'meta6.example': ['fd00:ec2::254'],
      'll.example': ['169.254.10.1'],
      'cgnat.example': ['100.64.0.7'],
      'ula.example': ['fd12:3456::1'],
      'zero.example': ['0.0.0.0'],
      'mixed.example': ['93.184.216.34', '192.168.1.10'],
    };
    const f = fetcher({ dns });
    const expectations: Array<[string, string]> = [
      ['files.example', 'resolves to a private address (10.1.2.3)'],
      ['meta.example', 'resolves to a cloud metadata address (169.254.169.254)'],
      ['meta6.example', 'resolves to a cloud metadata address (fd00:ec2::254)'],
      ['ll.example', 'resolves to a link-local address (169.254.10.1)'],
      ['cgnat.example', 'resolves to a carrier-grade NAT (100.64.0.0/10) address (100.64.0.7)'],
      ['ula.example', 'resolves to a private address (fd12:3456::1)'],
      ['zero.example', 'resolves to an unspecified address (0.0.0.0)'],
      ['mixed.example', 'resolves to a private address (192.168.1.10)'],
    ];
    for (const [host, text] of expectations) {
      const e = await refusal(f.fetch(`http://${host}/doc.pdf`));
      expect(e.code, host).toBe('media_url_forbidden');
      expect(e.message, host).toBe(`media url http://${host}/doc.pdf ${text}; add the host to OUTBOUND_MEDIA_ALLOW to allow it.`);
    }
  });

  it('the same URLs are fetched once OUTBOUND_MEDIA_ALLOW lists the host, address or CIDR', async () => {
    const url = `http://127.0.0.1:${port}/file.pdf`;
    for (const allow of [['127.0.0.1'], ['127.0.0.0/8'], ['::ffff:127.0.0.1']]) {
      const got = await fetcher({ allow }).fetch(url);
      expect(got.bytes.toString()).toBe('%PDF-1.4 hello');
      expect(got.mime).toBe('application/pdf');
    }
    // By name: the LAN file server of 1C, which resolves to an inner address.
    const dns = { 'files.corp.lan': ['127.0.0.1'] };
    expect((await refusal(fetcher({ dns }).fetch(`http://files.corp.lan:${port}/file.pdf`))).code).toBe('media_url_forbidden');
    expect((await fetcher({ dns, allow: ['files.corp.lan'] }).fetch(`http://files.corp.lan:${port}/file.pdf`)).bytes.toString()).toBe(
      '%PDF-1.4 hello',
    );
    expect((await fetcher({ dns, allow: ['*.corp.lan'] }).fetch(`http://files.corp.lan:${port}/file.pdf`)).bytes.length).toBe(14);
    const ip6 = await refusal(fetcher({ allow: ['127.0.0.1'] }).fetch(`http://[::1]:${port}/file.pdf`));
    expect(ip6.code).toBe('media_url_forbidden');
  });

  it('checks again on every redirect: an allowed host redirecting to an inner one is refused', async () => {
    const dns = { 'files.corp.lan': ['127.0.0.1'], 'inner.test': ['127.0.0.1'] };
    const before = hits.length;
    const e = await refusal(fetcher({ dns, allow: ['files.corp.lan'] }).fetch(`http://files.corp.lan:${port}/to-inner`));
    expect(e.message).toBe(
      `media url http://inner.test:${port}/secret resolves to a loopback address (127.0.0.1); add the host to OUTBOUND_MEDIA_ALLOW to allow it.`,
    );
    expect(hits.slice(before)).toEqual([`files.corp.lan:${port} /to-inner`]); // /secret never requested
    // A relative redirect on an allowed host is followed; more than 5 hops are refused.
    expect((await fetcher({ dns, allow: ['files.corp.lan'] }).fetch(`http://files.corp.lan:${port}/to-file`)).bytes.toString()).toBe(
      '%PDF-1.4 hello',
    );
    const loop = await refusal(fetcher({ dns, allow: ['files.corp.lan'] }).fetch(`http://files.corp.lan:${port}/loop`));
    expect(loop.code).toBe('media_url_redirects');
  });

  it('resolves each hop once and connects to the checked address (a second DNS answer cannot swap it)', async () => {
    const r = resolver({ 'files.corp.lan': ['127.0.0.1'] });
    const f = new MediaFetcher({ maxBytes: 1000, timeoutMs: 5000, allow: ['127.0.0.0/8'], resolver: r });
    await f.fetch(`http://files.corp.lan:${port}/file.pdf`);
    expect(r.calls).toEqual(['files.corp.lan']);
  });

  it('caps the size while streaming and by Content-Length', async () => {
    const f = fetcher({ allow: ['127.0.0.1'], maxBytes: 4096 });
    const chunked = await refusal(f.fetch(`http://127.0.0.1:${port}/big-chunked`));
    expect(chunked.code).toBe('media_too_large');
    expect(chunked.message).toBe(
      `media url http://127.0.0.1:${port}/big-chunked serves a file larger than the 4096-byte limit (MEDIA_MAX_BYTES).`,
    );
    expect((await refusal(f.fetch(`http://127.0.0.1:${port}/big-declared`))).code).toBe('media_too_large');
  });

  it('caps the time (MEDIA_FETCH_TIMEOUT_MS)', async () => {
    const e = await refusal(fetcher({ allow: ['127.0.0.1'], timeoutMs: 300 }).fetch(`http://127.0.0.1:${port}/hang`));
    expect(e.code).toBe('media_url_timeout');
    expect(e.message).toBe(`media url http://127.0.0.1:${port}/hang did not deliver the file within 300 ms (MEDIA_FETCH_TIMEOUT_MS).`);
  });

  it('the WhatsApp send path fetches through it: the message fails with the reason, no crash', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'media-fetch-'));
    try {
      const store = new FileMediaStore({ dir, publicUrl: 'http://h', fetcher: fetcher() });
      const msg = {
        id: 'o1',
        chatId: 'wa:x:1',
        text: null,
        media: [{ url: `http://127.0.0.1:${port}/file.pdf`, mime: 'application/pdf' }],
      };
      const e = await refusal(buildContents(msg as unknown as OutboundMessage, store));
      expect(e.code).toBe('media_url_forbidden');
      const allowed = new FileMediaStore({ dir, publicUrl: 'http://h', fetcher: fetcher({ allow: ['127.0.0.1'] }) });
      const [content] = await buildContents(msg as unknown as OutboundMessage, allowed);
      expect(content).toMatchObject({ document: Buffer.from('%PDF-1.4 hello'), mimetype: 'application/pdf' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
