/**
 * Issue 15 item 3: the protocol version (pin, fetch with timeout, bundled fallback), one
 * retry-counter cache per account across reconnects, cachedGroupMetadata, shouldIgnoreJid —
 * asserted on the options baileysSocketFactory passes, and on a real Baileys socket that is
 * built with them and closed without leaving loopback.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DisconnectReason, initAuthCreds, type GroupMetadata } from '@whiskeysockets/baileys';
import { createServer, type Server } from 'node:net';
import { baileysSocketConfig, baileysSocketFactory, type SocketFactoryInput } from '../../../src/channels/whatsapp/socket-factory.ts';
import { bundledVersion, resolveWaVersion, shouldIgnoreJid, TtlCache } from '../../../src/channels/whatsapp/socket-options.ts';
import type { WhatsappConnector } from '../../../src/channels/whatsapp/whatsapp-connector.ts';
import { silentLogger } from '../../../src/core/index.ts';
import { cleanupPrefix, newRedis, uniquePrefix } from '../../helpers/redis.ts';
import { boom } from './fakes.ts';
import { openConnector } from './helpers.ts';

const prefix = uniquePrefix('wa-sockopt');
const redis = newRedis();
const connectors: WhatsappConnector[] = [];
afterEach(async () => {
  for (const c of connectors.splice(0)) for (const r of c.runners()) await r.stop();
});
afterAll(async () => {
  redis.disconnect();
  await cleanupPrefix(prefix);
});

function input(extra: Partial<SocketFactoryInput> = {}): SocketFactoryInput {
  const keys = { get: async () => ({}), set: async () => undefined };
  return {
    account: 'main',
    auth: { creds: initAuthCreds(), keys },
    getMessage: async () => undefined,
    logger: silentLogger,
    version: [2, 3000, 1_027_934_701],
    msgRetryCounterCache: new TtlCache(60_000),
    cachedGroupMetadata: async () => undefined,
    ...extra,
  };
}

describe('baileysSocketFactory', () => {
  it('passes version, retry-counter cache, group metadata cache and shouldIgnoreJid', () => {
    const i = input();
    const cfg = baileysSocketConfig(i);
    expect(cfg.version).toEqual([2, 3000, 1_027_934_701]);
    expect(cfg.msgRetryCounterCache).toBe(i.msgRetryCounterCache);
    expect(cfg.cachedGroupMetadata).toBe(i.cachedGroupMetadata);
    expect(cfg.shouldIgnoreJid?.('status@broadcast')).toBe(true);
    expect(cfg.shouldIgnoreJid?.('120363000000000000@newsletter')).toBe(true);
    expect(cfg.shouldIgnoreJid?.('79991234567@s.whatsapp.net')).toBe(false);
    expect(cfg.markOnlineOnConnect).toBe(false);
    expect(shouldIgnoreJid('123@g.us')).toBe(false);
  });

  it('builds a real Baileys socket with those options and closes it without network (loopback only)', async () => {
    // a TCP server that drops every connection: the WebSocket handshake fails on loopback
    const server: Server = createServer((c) => c.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const sock = baileysSocketFactory(input({ waWebSocketUrl: `ws://127.0.0.1:${port}/ws/chat` }));
      const closed = new Promise<number | undefined>((resolve) =>
        sock.ev.process(async (ev) => {
          const cu = ev['connection.update'];
          if (cu?.connection === 'close')
            resolve((cu.lastDisconnect?.error as { output?: { statusCode?: number } } | undefined)?.output?.statusCode);
        }),
      );
      await sock.end(boom(DisconnectReason.connectionClosed));
      expect(await closed).toBeTypeOf('number');
    } finally {
      server.close();
    }
  });
});

describe('resolveWaVersion', () => {
  it('pin wins; a fetched version is used; a hanging fetch falls back to the bundled one after the timeout', async () => {
    expect(await resolveWaVersion({ pinned: [2, 1, 3] })).toEqual({ version: [2, 1, 3], source: 'pinned' });
    expect(await resolveWaVersion({ fetcher: async () => ({ version: [2, 3000, 5], isLatest: true }) })).toMatchObject({
      version: [2, 3000, 5],
      source: 'fetched',
    });
    let aborted = false;
    const hang = (signal: AbortSignal) =>
      new Promise<never>(() => {
        signal.addEventListener('abort', () => (aborted = true));
      });
    const r = await resolveWaVersion({ fetcher: hang, timeoutMs: 20 });
    expect(r).toMatchObject({ version: bundledVersion, source: 'bundled' });
    expect(aborted).toBe(true);
  });
});

describe('per account, across reconnects', () => {
  it('the same retry-counter cache and the pinned version reach every socket; group metadata is fetched once', async () => {
    const { connector, fake, sock } = await openConnector(redis, prefix, 'opts', { version: [2, 3000, 7], backoff: { baseMs: 1 } });
    connectors.push(connector);
    let fetched = 0;
    const meta = { id: '1@g.us', subject: 'Team', participants: [] } as unknown as GroupMetadata;
    Object.assign(sock, { groupMetadata: async () => (fetched++, meta) });
    expect(await sock.input.cachedGroupMetadata?.('1@g.us')).toBe(meta);
    expect(await sock.input.cachedGroupMetadata?.('1@g.us')).toBe(meta);
    expect(fetched).toBe(1);
    await sock.end(boom(DisconnectReason.connectionLost));
    const s2 = await fake.nth(2);
    expect(sock.input.version).toEqual([2, 3000, 7]);
    expect(sock.input.msgRetryCounterCache).toBeInstanceOf(TtlCache);
    expect(s2.input.msgRetryCounterCache).toBe(sock.input.msgRetryCounterCache);
    expect(s2.input.version).toEqual([2, 3000, 7]);
  });
});
