/** Shared bits of the 1C tests: messages, raw emulator calls, a free port, the emulator + client fixture. */
import { createServer } from 'node:net';
import { afterEach, beforeEach } from 'vitest';
import type { InboundMessage } from '../../src/core/index.ts';
import { OnecEmulator, type OnecEmulatorOptions } from '../../src/onec/emulator/index.ts';
import { OnecClient, type OnecClientOptions } from '../../src/onec/index.ts';

export const SERVICE = { login: 'service', password: 'service-pass' };
export const IVANOV = { login: 'Иванов', password: 'пароль1' };

export function msg(chat: string, seq: number, text: string | null = `message ${seq}`): InboundMessage {
  const chatId = `tg:bot:${chat}`;
  const at = new Date(0).toISOString();
  return {
    id: `${chatId}:${seq}`,
    chatId,
    channel: 'telegram',
    account: 'bot',
    chat: { type: 'private', title: null },
    sender: { id: `tg:${chat}`, name: 'Клиент', username: null, phone: null },
    text,
    media: [],
    replyTo: null,
    target: null,
    sentAt: at,
    receivedAt: at,
    kind: 'text',
    seq,
    route: null,
  };
}

export function basic(c: { login: string; password: string }): string {
  return `Basic ${Buffer.from(`${c.login}:${c.password}`, 'utf8').toString('base64')}`;
}

export interface RawAnswer {
  status: number;
  body: string;
  headers: Headers;
}

/** One raw call to the emulator, bypassing the client. */
export async function raw(
  url: string,
  init: { method?: string; body?: unknown; creds?: { login: string; password: string }; ibsession?: string; cookie?: string } = {},
): Promise<RawAnswer> {
  const headers: Record<string, string> = {};
  if (init.creds) headers.Authorization = basic(init.creds);
  if (init.ibsession) headers.IBSession = init.ibsession;
  if (init.cookie) headers.Cookie = `ibsession=${init.cookie}`;
  if (init.body !== undefined) headers['Content-Type'] = 'application/json; charset=utf-8';
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

export function cookieOf(a: RawAnswer): string {
  const m = /ibsession=([^;]+)/.exec(a.headers.get('set-cookie') ?? '');
  if (!m) throw new Error('no ibsession cookie in the answer');
  return m[1];
}

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export interface EmulatorFixture {
  /** The emulator of the running test (a fresh one per test). */
  readonly emu: OnecEmulator;
  /** A client of the service user against it, closed after the test; `o` adds to the defaults. */
  client(o?: Partial<OnecClientOptions>): OnecClient;
}

/**
 * The 1C-client fixture of the 1C tests: a fresh emulator per test (started before, stopped
 * after) and clients of the service user that are closed after the test.
 */
export function useEmulator(emulator: OnecEmulatorOptions = {}, clientDefaults: Partial<OnecClientOptions> = {}): EmulatorFixture {
  let emu: OnecEmulator | null = null;
  const clients: OnecClient[] = [];
  beforeEach(async () => {
    emu = new OnecEmulator(emulator);
    await emu.start();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await emu?.stop();
    emu = null;
  });
  return {
    get emu(): OnecEmulator {
      if (!emu) throw new Error('useEmulator: the emulator runs only inside a test');
      return emu;
    },
    client(o = {}) {
      const c = new OnecClient({ baseUrl: this.emu.url, user: SERVICE.login, password: SERVICE.password, ...clientDefaults, ...o });
      clients.push(c);
      return c;
    },
  };
}
