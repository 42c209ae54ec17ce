/**
 * HTTP to the 1C service with axios (private to src/onec): Basic auth in UTF-8, the
 * session headers (`IBSession`, cookie `ibsession`), a timeout per call, raw text bodies.
 * Every non-2xx answer and every failure leaves here already classified.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import axios, { type AxiosInstance } from 'axios';
import { abortReason } from '../core/index.ts';
import {
  classifyOnecFailure,
  classifyOnecResponse,
  excerpt,
  looksLikeLicenseRefusal,
  OnecLicenseRefusedError,
  OnecProtocolError,
  type OnecCallContext,
} from './onec-errors.ts';

export interface OnecCredentials {
  login: string;
  password: string;
}

/** How a request relates to 1C sessions. */
export type SessionMode = { mode: 'start' } | { mode: 'use' | 'finish'; id: string };

export interface OnecRequest {
  method: 'GET' | 'POST';
  /** Relative to the service root, e.g. `/messages`. */
  path: string;
  body?: unknown;
  /** The body already encoded as JSON text (sent as is; wins over `body`). */
  json?: string;
  credentials: OnecCredentials;
  session: SessionMode;
  signal?: AbortSignal;
}

export interface OnecResponse {
  status: number;
  body: string;
  contentType: string;
  /** The session id from `Set-Cookie: ibsession=…`, when 1C set one. */
  sessionId: string | null;
}

export interface OnecTransportOptions {
  baseUrl: string;
  timeoutMs: number;
}

export function basicAuth(c: OnecCredentials): string {
  return `Basic ${Buffer.from(`${c.login}:${c.password}`, 'utf8').toString('base64')}`;
}

function sessionFromCookies(header: string | string[] | undefined): string | null {
  const list = Array.isArray(header) ? header : header ? [header] : [];
  for (const c of list) {
    const m = /(?:^|;\s*)ibsession=([^;]+)/i.exec(c);
    if (m) return m[1];
  }
  return null;
}

export class OnecTransport {
  readonly baseUrl: string;
  readonly timeoutMs: number;
  private readonly http: AxiosInstance;
  private readonly agents: { http: HttpAgent; https: HttpsAgent };

  constructor(opts: OnecTransportOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs;
    this.agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };
    this.http = axios.create({
      timeout: opts.timeoutMs,
      validateStatus: () => true,
      maxRedirects: 0,
      responseType: 'text',
      transformResponse: [(d: unknown) => d],
      // Bodies are JSON text already (see send): axios's default would parse each one again to check it.
      transformRequest: [(d: unknown) => d],
      httpAgent: this.agents.http,
      httpsAgent: this.agents.https,
      proxy: false,
    });
  }

  ctx(path: string): OnecCallContext & { timeoutMs: number } {
    return { path, baseUrl: this.baseUrl, timeoutMs: this.timeoutMs };
  }

  /** One HTTP call. Resolves with any HTTP answer; rejects only for failures without one. */
  async send(req: OnecRequest): Promise<OnecResponse> {
    if (req.signal?.aborted) throw abortReason(req.signal);
    const headers: Record<string, string> = {
      Authorization: basicAuth(req.credentials),
      Accept: 'application/json',
    };
    if (req.session.mode === 'start') headers.IBSession = 'start';
    else {
      headers.Cookie = `ibsession=${req.session.id}`;
      if (req.session.mode === 'finish') headers.IBSession = 'finish';
    }
    let data: string | undefined;
    if (req.method === 'POST') {
      headers['Content-Type'] = 'application/json; charset=utf-8';
      data = req.json ?? JSON.stringify(req.body ?? {});
    }
    try {
      const res = await this.http.request<string>({
        method: req.method,
        url: `${this.baseUrl}${req.path}`,
        headers,
        data,
        signal: req.signal,
      });
      return {
        status: res.status,
        body: typeof res.data === 'string' ? res.data : String(res.data ?? ''),
        contentType: String(res.headers['content-type'] ?? ''),
        sessionId: sessionFromCookies(res.headers['set-cookie']),
      };
    } catch (err) {
      if (req.signal?.aborted) throw abortReason(req.signal);
      throw classifyOnecFailure(err, this.ctx(req.path));
    }
  }

  /** Throws the classified error of a non-2xx answer. */
  check(res: OnecResponse, path: string): void {
    const err = classifyOnecResponse({ status: res.status, body: res.body, contentType: res.contentType }, this.ctx(path));
    if (err) throw err;
  }

  /** The JSON of a 2xx answer; an HTML page or broken JSON is an OnecProtocolError. */
  json(res: OnecResponse, path: string): unknown {
    this.check(res, path);
    const looksHtml = /html/i.test(res.contentType) || /^\s*</.test(res.body);
    if (!looksHtml) {
      try {
        return JSON.parse(res.body);
      } catch {
        /* fall through */
      }
    }
    if (looksLikeLicenseRefusal(res.body)) throw new OnecLicenseRefusedError();
    const what = looksHtml ? `an HTML page ("${excerpt(res.body, 80)}")` : 'text that is not JSON';
    throw new OnecProtocolError(`1C answered ${path} with ${what} instead of the JSON of the chats service.`);
  }

  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }
}
