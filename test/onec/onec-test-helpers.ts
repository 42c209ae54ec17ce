/** Shared bits of the 1C tests: messages, raw emulator calls, a free port. */
import { createServer } from 'node:net';
import type { InboundMessage } from '../../src/core/index.ts';

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
