/**
 * The 1C emulator: the `chats` HTTP service of onec-http-service.md on node:http, with
 * the platform's sessions, licenses, errors and latency, plus fault injection and an
 * inspection endpoint. For tests, the demo and benchmarks only — the control endpoints
 * under `/_emulator/*` need no authentication, so never expose it beyond a trusted host.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BadBodyError, defaultRejectRule, EmulatorStore, itemsOf, type ItemResult } from './emulator-store.ts';
import { EmulatorSessions, type EmuSession } from './emulator-sessions.ts';
import { ContractFaults, isContractFault, type ContractFault } from './emulator-contract-faults.ts';
import {
  DEMO_USERS,
  EMULATOR_ENDPOINTS,
  LICENSE_REFUSAL_TEXT,
  NO_SESSION_HEADER_TEXT,
  SESSION_GONE_TEXT,
  type EmulatorBatchStats,
  type EmulatorEndpoint,
  type EmulatorFault,
  type EmulatorLanguage,
  type EmulatorLatency,
  type EmulatorOutage,
  type EmulatorUser,
  type OnecEmulatorOptions,
  type OnecEmulatorState,
  type OutageMode,
} from './emulator-types.ts';

const MAX_MESSAGES = 500;
const MAX_BODY_BYTES = 64 * 1024 * 1024;
const ROUTES: Record<string, EmulatorEndpoint> = {
  'GET /licenses': 'licenses',
  'POST /messages': 'messages',
  'POST /statuses': 'statuses',
  'POST /routing': 'routing',
  'POST /auth': 'auth',
};
const ITEM_KEY: Partial<Record<EmulatorEndpoint, string>> = { messages: 'messages', statuses: 'statuses', routing: 'events' };

interface Reply {
  status: number;
  body: string;
  contentType: string;
  headers?: Record<string, string>;
}
type BatchEndpoint = 'messages' | 'statuses' | 'routing';

const json = (status: number, value: unknown): Reply => ({
  status,
  body: JSON.stringify(value),
  contentType: 'application/json; charset=utf-8',
});
const text = (status: number, body: string): Reply => ({ status, body, contentType: 'text/plain; charset=utf-8' });
const sha = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();
const secretEquals = (a: string, b: string): boolean => timingSafeEqual(sha(a), sha(b));
const sleep = (ms: number): Promise<void> => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());

function exceptionPage(detail: string): string {
  return (
    `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Ошибка выполнения</title></head><body>` +
    `<h1>500 Internal Server Error</h1><p>{ОбщийМодуль.ЧатыHTTPСервис.Модуль(117)}: ${detail}</p>` +
    `<pre>${'Стек вызовов: ОбщийМодуль.ЧатыHTTPСервис.Модуль\n'.repeat(20)}</pre></body></html>`
  );
}

function outagePage(): string {
  return (
    '<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head><body><h1>Service Unavailable</h1>' +
    '<p>The server is temporarily unable to service your request.</p></body></html>'
  );
}

export class OnecEmulator {
  private readonly host: string;
  private readonly basePath: string;
  private readonly users: EmulatorUser[];
  private readonly language: EmulatorLanguage;
  private readonly rejectWhen: (msg: Record<string, unknown>) => string | null;
  private readonly requestedPort: number;
  private latency: EmulatorLatency;
  private sessions: EmulatorSessions;
  private store: EmulatorStore;
  private server: Server | null = null;
  private port = 0;
  private faults: Array<Required<Omit<EmulatorFault, 'endpoint'>> & { endpoint?: EmulatorEndpoint }> = [];
  private outageState: { mode: OutageMode; untilMs: number | null } | null = null;
  private authOk = 0;
  private authFailed = 0;
  private calls = this.zeroCalls();
  private batchStats = this.zeroBatches();
  private batchLog: Array<{ endpoint: BatchEndpoint; ids: string[] }> = [];
  /** A deliberately broken rule of the contract, for proving `onec-check` (default: none). */
  private readonly contract: ContractFaults;

  constructor(private readonly opts: OnecEmulatorOptions = {}) {
    this.host = opts.host ?? '127.0.0.1';
    this.requestedPort = opts.port ?? 0;
    this.basePath = (opts.basePath ?? '/base/hs/chats/v1').replace(/\/+$/, '');
    this.users = (opts.users ?? DEMO_USERS).map((u) => ({ ...u, groups: [...u.groups] }));
    this.language = opts.language ?? 'ru';
    this.rejectWhen = opts.rejectWhen ?? defaultRejectRule;
    this.latency = { perCallMs: 0, perMessageMs: 0, newSessionMs: 0, ...opts.latency };
    this.sessions = new EmulatorSessions(opts.licenseTotal ?? 20, (opts.sessionMaxAgeS ?? 20) * 1000);
    this.store = new EmulatorStore(this.rejectWhen);
    this.contract = new ContractFaults(opts.contractFault ?? 'none');
  }

  /** The service root, e.g. `http://127.0.0.1:40123/base/hs/chats/v1` (after `start()`). */
  get url(): string {
    return `http://${this.host}:${this.port}${this.basePath}`;
  }

  /** The server's own root, where `/_emulator/*` lives. */
  get origin(): string {
    return `http://${this.host}:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.send(res, { status: 500, body: exceptionPage(String(err)), contentType: 'text/html; charset=utf-8' });
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.requestedPort, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    this.sessions.clear();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  // ---- programmatic control ------------------------------------------------------------

  /** The next `count` calls (of `endpoint`, or any) are answered with `status` and `body`. */
  failNext(fault: EmulatorFault = {}): void {
    this.faults.push({
      count: Math.max(1, Math.floor(fault.count ?? 1)),
      status: fault.status ?? 500,
      body: fault.body ?? exceptionPage('Ошибка при вызове метода контекста (Записать): Запись не может быть выполнена'),
      contentType: fault.contentType ?? 'text/html; charset=utf-8',
      endpoint: fault.endpoint,
    });
  }

  /** Breaks one rule of the contract on purpose (see emulator-contract-faults.ts); `none` restores it. */
  setContractFault(fault: ContractFault): void {
    this.contract.set(fault);
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** The web server or 1C is down: 503 pages, dropped connections, or no answer at all. */
  outage(o: EmulatorOutage): void {
    this.outageState = { mode: o.mode, untilMs: o.forMs === undefined ? null : Date.now() + o.forMs };
  }

  clearOutage(): void {
    this.outageState = null;
  }

  /** The next `n` requests that open a session are refused as if no license were free. */
  refuseLicenses(n = 1): void {
    this.sessions.pendingRefusals += Math.max(0, Math.floor(n));
  }

  /** Other 1C users take up to `n` free licenses; returns how many they took. */
  takeLicenses(n: number): number {
    return this.sessions.takeLicenses(n);
  }

  /** Other 1C users give back up to `n` licenses; returns how many came back. */
  returnLicenses(n: number): number {
    return this.sessions.returnLicenses(n);
  }

  /** Every open session ends now, as after `sessionMaxAge` without requests; returns how many. */
  expireSessions(): number {
    return this.sessions.expireAll();
  }

  setLatency(l: Partial<EmulatorLatency>): EmulatorLatency {
    for (const k of ['perCallMs', 'perMessageMs', 'newSessionMs'] as const) {
      const v = l[k];
      if (typeof v === 'number' && Number.isFinite(v) && v >= 0) this.latency[k] = v;
    }
    return { ...this.latency };
  }

  /** Forgets everything stored and counted, ends all sessions, clears faults and licenses taken. */
  reset(): void {
    this.sessions.clear();
    this.sessions = new EmulatorSessions(this.sessions.licenseTotal, this.sessions.maxAgeMs);
    this.store = new EmulatorStore(this.rejectWhen);
    this.faults = [];
    this.outageState = null;
    this.authOk = 0;
    this.authFailed = 0;
    this.calls = this.zeroCalls();
    this.batchStats = this.zeroBatches();
    this.batchLog = [];
    this.contract.set(this.contract.fault);
  }

  /** A stored message exactly as 1C received it. */
  storedMessage(id: string): Record<string, unknown> | undefined {
    return this.store.message(id);
  }

  /** The ids of the last (up to 1000) batches that reached a handler, oldest first. */
  recentBatches(endpoint?: BatchEndpoint): Array<{ endpoint: BatchEndpoint; ids: string[] }> {
    return this.batchLog.filter((b) => !endpoint || b.endpoint === endpoint).map((b) => ({ endpoint: b.endpoint, ids: [...b.ids] }));
  }

  /**
   * Messages stored and `POST /messages` calls so far: for polling while a run goes on —
   * `state()` copies every stored message, too slow to call every few ms beside a drain.
   */
  progress(): { messagesStored: number; messageCalls: number } {
    return { messagesStored: this.store.messagesStored, messageCalls: this.calls.messages };
  }

  state(): OnecEmulatorState {
    const s = this.sessions;
    const outage = this.activeOutage();
    return {
      url: this.url,
      sessions: {
        open: s.open,
        peakOpen: s.peakOpen,
        opened: s.opened,
        finished: s.finished,
        expired: s.expired,
        peakQueuedInSession: s.peakQueued,
        peakRunningInSession: s.peakRunning,
      },
      licenses: { total: s.licenseTotal, takenByOthers: s.takenByOthers, used: s.used, free: s.free, refused: s.refused },
      ...this.store.snapshot(),
      auth: { ok: this.authOk, failed: this.authFailed },
      calls: { ...this.calls },
      batches: {
        messages: { ...this.batchStats.messages },
        statuses: { ...this.batchStats.statuses },
        routing: { ...this.batchStats.routing },
      },
      faults: {
        pendingFailures: this.faults.reduce((n, f) => n + f.count, 0),
        outage: outage ? { ...outage } : null,
        pendingLicenseRefusals: s.pendingRefusals,
      },
      latency: { ...this.latency },
    };
  }

  // ---- request handling ----------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const path = url.pathname;
    if (path === '/_emulator' || path.startsWith('/_emulator/')) {
      const raw = await readBody(req);
      this.send(res, this.control(req.method ?? 'GET', path.slice('/_emulator'.length), raw));
      return;
    }
    const rel = path.startsWith(this.basePath + '/') ? path.slice(this.basePath.length) : null;
    const endpoint = rel === null ? undefined : ROUTES[`${req.method} ${rel}`];
    this.calls[endpoint ?? 'other']++;

    const outage = this.activeOutage();
    if (outage) {
      if (outage.mode === 'drop') {
        req.socket.destroy();
        return;
      }
      if (outage.mode === 'hang') {
        req.resume();
        return;
      }
      this.send(res, { status: 503, body: outagePage(), contentType: 'text/html; charset=utf-8' });
      return;
    }
    const raw = await readBody(req);
    if (rel === null) {
      this.send(res, {
        status: 404,
        body: '<html><body><h1>404 Not Found</h1><p>The requested URL was not found on this server.</p></body></html>',
        contentType: 'text/html; charset=utf-8',
      });
      return;
    }
    if (!endpoint) {
      const known = Object.keys(ROUTES).some((k) => k.endsWith(` ${rel}`));
      this.send(res, known ? text(405, 'Метод не поддерживается.') : text(404, 'Не найден шаблон URL для обработки запроса.'));
      return;
    }

    const user = this.authenticate(req.headers.authorization, endpoint);
    if (!user) {
      if (endpoint === 'auth') this.authFailed++;
      this.send(res, { ...text(401, 'Ошибка аутентификации.'), headers: this.contract.challengeHeaders() });
      return;
    }
    if (user.serviceRights === false) {
      if (endpoint === 'auth') this.authFailed++;
      this.send(res, text(403, 'Нарушение прав доступа!'));
      return;
    }

    const mode = String(req.headers.ibsession ?? '')
      .trim()
      .toLowerCase();
    const cookieId = parseCookie(req.headers.cookie, 'ibsession');
    let session: EmuSession;
    let opened = false;
    if (mode === 'start') {
      const s = this.sessions.start(user.login);
      if (s === 'refused') {
        const msg = LICENSE_REFUSAL_TEXT[this.language];
        const detail =
          this.language === 'ru'
            ? `Ошибка при выполнении операции с информационной базой\n${msg}\nНе найдено ни одной программной лицензии или ключа защиты.`
            : `Infobase operation error\n${msg}\nNo software license or protection key found.`;
        this.send(res, text(500, detail));
        return;
      }
      session = s;
      opened = true;
    } else if (cookieId) {
      const s = this.sessions.get(cookieId);
      const renewed = this.contract.opensNewSessionFor(cookieId, s !== undefined, mode === 'finish')
        ? this.sessions.start(user.login)
        : null;
      if (renewed && renewed !== 'refused') {
        session = renewed;
        opened = true;
      } else if (!s) {
        this.send(res, text(400, this.contract.sessionGoneText(SESSION_GONE_TEXT)));
        return;
      } else session = s;
    } else {
      this.send(res, text(400, this.contract.noSessionText(NO_SESSION_HEADER_TEXT)));
      return;
    }

    const reply = await this.sessions.run(session, async (): Promise<Reply> => {
      if (session.ended) return text(400, this.contract.sessionGoneText(SESSION_GONE_TEXT));
      let body: unknown = undefined;
      let parseError = false;
      if (req.method === 'POST') {
        try {
          body = raw.length ? JSON.parse(raw) : {};
        } catch {
          parseError = true;
        }
      }
      const key = ITEM_KEY[endpoint];
      const list = key && body && typeof body === 'object' ? (body as Record<string, unknown>)[key] : undefined;
      const n = Array.isArray(list) ? list.length : 0;
      const l = this.latency;
      await sleep(l.perCallMs + l.perMessageMs * n + (opened ? l.newSessionMs : 0) + this.contract.extraLatencyMs(endpoint));
      if (session.ended) return text(400, this.contract.sessionGoneText(SESSION_GONE_TEXT));
      const fault = this.takeFault(endpoint);
      let r: Reply;
      if (fault) r = fault;
      else if (parseError) r = this.contract.badBody(text(400, 'Тело запроса не является корректным JSON.'), exceptionPage);
      else r = this.serve(endpoint, body, user);
      if (mode === 'finish') {
        this.sessions.finish(session);
        if (this.contract.keepsLicenseAfterFinish(session.id)) this.sessions.takeLicenses(1);
      }
      return r;
    });
    if (opened) reply.headers = { ...reply.headers, 'Set-Cookie': `ibsession=${session.id}; Path=/; HttpOnly` };
    this.send(res, this.contract.answer(reply));
  }

  /**
   * Pull mode: what the 1C job does with fetched updates — stores them exactly as
   * `POST /messages`, `/statuses`, `/routing` would (same idempotency, same reject rule,
   * same per-call and per-item cost), only without a web session: the job runs inside 1C.
   */
  async storePulled(endpoint: BatchEndpoint, items: Record<string, unknown>[]): Promise<ItemResult[]> {
    if (items.length === 0) return [];
    const l = this.latency;
    await sleep(l.perCallMs + l.perMessageMs * items.length);
    let results: ItemResult[];
    if (endpoint === 'messages') results = this.store.storeMessages(items);
    else if (endpoint === 'statuses') results = this.store.storeStatuses(items);
    else results = this.store.storeRouting(items);
    this.recordBatch(
      endpoint,
      items.map((i) => String(i.id)),
    );
    return results;
  }

  private serve(endpoint: EmulatorEndpoint, body: unknown, user: EmulatorUser): Reply {
    if (endpoint === 'licenses') {
      const s = this.sessions;
      return json(200, this.contract.licenses({ total: s.licenseTotal, used: s.used, free: s.free }));
    }
    if (endpoint === 'auth') return this.serveAuth(body, user);
    try {
      const items = itemsOf(body, ITEM_KEY[endpoint] as string, MAX_MESSAGES);
      const refused = this.contract.refuseBatch(endpoint, items.length);
      if (refused) return refused;
      let results: ItemResult[];
      if (endpoint === 'messages') results = this.store.storeMessages(items);
      else if (endpoint === 'statuses') results = this.store.storeStatuses(items);
      else results = this.store.storeRouting(items);
      results = this.contract.results(endpoint, items, results);
      this.recordBatch(
        endpoint,
        items.map((i) => i.id as string),
      );
      return json(200, { results });
    } catch (err) {
      if (err instanceof BadBodyError) return this.contract.badBody(text(400, err.message), exceptionPage);
      throw err;
    }
  }

  private serveAuth(body: unknown, user: EmulatorUser): Reply {
    const pin = body && typeof body === 'object' ? (body as Record<string, unknown>).pin : undefined;
    let op: EmulatorUser | undefined = user;
    if (pin !== undefined) {
      op =
        typeof pin === 'string' && /^\d{4}$/.test(pin)
          ? this.users.find((u) => u.pin !== undefined && secretEquals(u.pin, pin))
          : undefined;
      if (!op && this.contract.acceptsAnyPin()) op = this.users.find((u) => u.pin !== undefined);
    }
    if (!op) {
      this.authFailed++;
      return { ...text(401, 'Неверный PIN-код.'), headers: this.contract.challengeHeaders() };
    }
    this.authOk++;
    return json(200, { operator: { id: op.id, name: op.name, groups: [...op.groups] } });
  }

  private authenticate(header: string | undefined, endpoint: EmulatorEndpoint): EmulatorUser | null {
    if (!header || !/^basic\s+/i.test(header)) return null;
    const decoded = this.contract.decodeBasic(header.replace(/^basic\s+/i, ''));
    const i = decoded.indexOf(':');
    if (i < 0) return null;
    const login = decoded.slice(0, i);
    const password = decoded.slice(i + 1);
    const user = this.users.find((u) => u.login === login);
    // Compare even for an unknown user so timing does not tell which names exist.
    const ok = secretEquals(user?.password ?? '\u0000no-such-user', password);
    return user && (ok || this.contract.letsWrongPasswordIn(endpoint)) ? user : null;
  }

  private takeFault(endpoint: EmulatorEndpoint): Reply | null {
    const i = this.faults.findIndex((f) => !f.endpoint || f.endpoint === endpoint);
    if (i < 0) return null;
    const f = this.faults[i];
    f.count--;
    if (f.count <= 0) this.faults.splice(i, 1);
    return { status: f.status, body: f.body, contentType: f.contentType };
  }

  private activeOutage(): { mode: OutageMode; untilMs: number | null } | null {
    const o = this.outageState;
    if (o && o.untilMs !== null && Date.now() >= o.untilMs) this.outageState = null;
    return this.outageState;
  }

  private recordBatch(endpoint: BatchEndpoint, ids: string[]): void {
    const st = this.batchStats[endpoint];
    st.count++;
    st.maxSize = Math.max(st.maxSize, ids.length);
    this.batchLog.push({ endpoint, ids });
    if (this.batchLog.length > 1000) this.batchLog.shift();
  }

  private control(method: string, path: string, raw: string): Reply {
    let body: Record<string, unknown> = {};
    try {
      const parsed: unknown = raw ? JSON.parse(raw) : {};
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
    } catch {
      return json(400, { error: 'body is not JSON' });
    }
    const num = (k: string, d: number): number => (typeof body[k] === 'number' ? body[k] : d);
    const route = `${method} ${path}`;
    switch (route) {
      case 'GET /state':
        return json(200, this.state());
      case 'POST /faults': {
        const endpoint = body.endpoint;
        if (endpoint !== undefined && !EMULATOR_ENDPOINTS.includes(endpoint as EmulatorEndpoint))
          return json(400, { error: `unknown endpoint ${String(endpoint)}` });
        this.failNext({
          count: num('count', 1),
          status: num('status', 500),
          body: typeof body.body === 'string' ? body.body : undefined,
          contentType: typeof body.contentType === 'string' ? body.contentType : undefined,
          endpoint: endpoint as EmulatorEndpoint | undefined,
        });
        return json(200, this.state().faults);
      }
      case 'DELETE /faults':
        this.clearFaults();
        return json(200, this.state().faults);
      case 'POST /outage': {
        const mode = body.mode;
        if (mode !== '503' && mode !== 'drop' && mode !== 'hang') return json(400, { error: 'mode must be 503, drop or hang' });
        this.outage({ mode, forMs: typeof body.forMs === 'number' ? body.forMs : undefined });
        return json(200, this.state().faults);
      }
      case 'DELETE /outage':
        this.clearOutage();
        return json(200, this.state().faults);
      case 'POST /licenses/take':
        return json(200, { taken: this.takeLicenses(num('count', 1)), ...this.state().licenses });
      case 'POST /licenses/return':
        return json(200, { returned: this.returnLicenses(num('count', 1)), ...this.state().licenses });
      case 'POST /licenses/refuse':
        this.refuseLicenses(num('count', 1));
        return json(200, this.state().faults);
      case 'POST /expire-sessions':
        return json(200, { expired: this.expireSessions() });
      case 'POST /latency':
        return json(200, this.setLatency(body));
      case 'POST /contract-fault': {
        if (!isContractFault(body.fault))
          return json(400, { error: 'fault must be one of the names in emulator-contract-faults.ts, or none' });
        this.setContractFault(body.fault);
        return json(200, { fault: body.fault });
      }
      case 'POST /reset':
        this.reset();
        return json(200, { reset: true });
      default:
        return json(404, { error: `no control endpoint ${route}` });
    }
  }

  private send(res: ServerResponse, r: Reply): void {
    if (res.headersSent || res.destroyed) return;
    const buf = Buffer.from(r.body, 'utf8');
    res.writeHead(r.status, { 'Content-Type': r.contentType, 'Content-Length': buf.length, ...r.headers });
    res.end(buf);
  }

  private zeroCalls(): Record<EmulatorEndpoint | 'other', number> {
    return { licenses: 0, messages: 0, statuses: 0, routing: 0, auth: 0, other: 0 };
  }

  private zeroBatches(): Record<BatchEndpoint, EmulatorBatchStats> {
    return { messages: { count: 0, maxSize: 0 }, statuses: { count: 0, maxSize: 0 }, routing: { count: 0, maxSize: 0 } };
  }
}

function parseCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name && v.length) return v.join('=');
  }
  return null;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}
