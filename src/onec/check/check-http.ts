/**
 * The conformance checker's own HTTP client: node:http, one connection per call, exactly
 * the headers and cookie a check asks for, the raw status, headers and body back — no
 * retries, no session reuse, no interpretation (that is what the connector's client does,
 * and the checker must see what 1C really answers).
 *
 * It also keeps the ledger of 1C sessions: every `Set-Cookie: ibsession=…` it sees is an
 * open session (one client license) until a `finish` on it is answered, and `finishAll()`
 * ends whatever is still open. Session ids are bearer secrets while they live: they never
 * appear in output.
 *
 * Interruption: once the signal fires, a new call is refused (CheckInterrupted), but a call
 * already sent runs to its answer — aborting it could leave a session 1C opened whose
 * cookie the checker never saw, and so could never finish.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { performance } from 'node:perf_hooks';

export interface Credentials {
  login: string;
  password: string;
}

export interface CallSpec {
  method: 'GET' | 'POST';
  /** Relative to the service root, e.g. `/licenses`. */
  path: string;
  /** Basic credentials (UTF-8); null sends no Authorization header. */
  creds: Credentials | null;
  ibsession?: 'start' | 'finish';
  /** Session id sent as `Cookie: ibsession=<id>`. */
  cookie?: string;
  /** JSON value, or a string sent as is. */
  body?: unknown;
}

export interface Answer {
  /** HTTP status; 0 when no answer came (then `error` says why). */
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  contentType: string;
  /** The id of a `Set-Cookie: ibsession=…` in the answer, or null. */
  sessionId: string | null;
  /** The cookie's name exactly as 1C spelled it (the contract says `ibsession`). */
  cookieName: string | null;
  ms: number;
  error?: string;
}

/** One call as the report lists it. */
export interface CallRecord {
  check: string;
  method: string;
  path: string;
  ibsession: string | null;
  withCookie: boolean;
  status: number;
  ms: number;
  contentType: string;
  error?: string;
}

export class CheckInterrupted extends Error {
  constructor() {
    super('interrupted');
    this.name = 'CheckInterrupted';
  }
}

export interface CheckHttpOptions {
  baseUrl: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Used to finish a session when the credentials that opened it no longer work. */
  serviceCreds?: Credentials;
  /** After every call (tests use it to interrupt a run at a chosen point). */
  onCall?: (call: CallRecord) => void;
}

const MAX_BODY_KEPT = 1024 * 1024;

interface OpenSession {
  creds: Credentials | null;
  openedBy: string;
}

export class CheckHttp {
  readonly calls: CallRecord[] = [];
  /** Every answer with its call, for checks that judge the whole run (content types, result lists). */
  readonly answers: Array<{ call: CallRecord; spec: CallSpec; answer: Answer }> = [];
  private readonly open = new Map<string, OpenSession>();
  private readonly everOpened = new Set<string>();
  private finishedCount = 0;
  /** `IBSession: start` calls that got no answer: 1C may have opened a session the checker cannot see. */
  startsUnanswered = 0;
  /** The check currently running (calls are attributed to it). */
  current = '';
  private readonly base: string;

  constructor(private readonly opts: CheckHttpOptions) {
    const u = new URL(opts.baseUrl);
    // Credentials in the URL are never used: the checker sends exactly the ones a check chooses.
    u.username = '';
    u.password = '';
    this.base = u.toString().replace(/\/+$/, '');
  }

  /** One call. `final` calls (finishing sessions) run even after an interruption. */
  async call(spec: CallSpec, final = false): Promise<Answer> {
    if (!final && this.opts.signal?.aborted) throw new CheckInterrupted();
    const answer = await this.send(spec);
    const record: CallRecord = {
      check: this.current,
      method: spec.method,
      path: spec.path,
      ibsession: spec.ibsession ?? null,
      withCookie: spec.cookie !== undefined,
      status: answer.status,
      ms: answer.ms,
      contentType: answer.contentType,
      ...(answer.error ? { error: answer.error } : {}),
    };
    this.calls.push(record);
    this.answers.push({ call: record, spec, answer });
    this.track(spec, answer);
    this.opts.onCall?.(record);
    return answer;
  }

  /** Ends the session of `answer` now, if it opened one (for calls that need no session afterwards). */
  async finishIfOpened(answer: Answer): Promise<void> {
    if (answer.sessionId && this.open.has(answer.sessionId)) await this.finish(answer.sessionId);
  }

  /**
   * Ends one session: `GET /licenses` with the cookie and `IBSession: finish`, as the user
   * who opened it — or, when 1C refuses those credentials here (a session a wrong password
   * got into, a user without rights to the service), as the service user.
   */
  async finish(id: string): Promise<Answer | null> {
    const s = this.open.get(id);
    if (!s) return null;
    const a = await this.call({ method: 'GET', path: '/licenses', creds: s.creds, cookie: id, ibsession: 'finish' }, true);
    if ((a.status !== 401 && a.status !== 403) || !this.opts.serviceCreds || s.creds === this.opts.serviceCreds) return a;
    return this.call({ method: 'GET', path: '/licenses', creds: this.opts.serviceCreds, cookie: id, ibsession: 'finish' }, true);
  }

  /** Finishes every session still open (twice at most each); returns how many stayed open. */
  async finishAll(): Promise<number> {
    for (let attempt = 0; attempt < 2 && this.open.size > 0; attempt++) {
      for (const id of [...this.open.keys()]) await this.finish(id);
    }
    return this.open.size;
  }

  get sessions(): { opened: number; finished: number; open: number; startsUnanswered: number } {
    return { opened: this.everOpened.size, finished: this.finishedCount, open: this.open.size, startsUnanswered: this.startsUnanswered };
  }

  /** What the ledger knows of a session id (for checks that reason about their own sessions). */
  isOpen(id: string): boolean {
    return this.open.has(id);
  }

  private track(spec: CallSpec, a: Answer): void {
    if (spec.ibsession === 'start' && a.status === 0) this.startsUnanswered++;
    if (a.sessionId && a.sessionId !== spec.cookie) {
      this.open.set(a.sessionId, { creds: spec.creds, openedBy: this.current });
      this.everOpened.add(a.sessionId);
    }
    const id = spec.cookie;
    if (id === undefined) return;
    const ok = a.status >= 200 && a.status < 300;
    if (spec.ibsession === 'finish' && (ok || a.status === 400)) {
      // Answered: 1C ended it (or it was gone already). A 5xx or no answer leaves it open.
      if (this.open.delete(id)) this.finishedCount++;
    } else if (ok && !this.open.has(id) && spec.ibsession !== 'finish' && (!a.sessionId || a.sessionId === id)) {
      // A cookie we thought dead still ran a request: the session lives, so it must be finished.
      this.open.set(id, { creds: spec.creds, openedBy: this.current });
      this.everOpened.add(id);
    }
    // A 400 without `finish` proves nothing (it may refuse the body, not the session): such a
    // session stays on the ledger and its `finish` at the end settles it.
  }

  private send(spec: CallSpec): Promise<Answer> {
    const url = new URL(this.base + spec.path);
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (spec.creds) headers.Authorization = `Basic ${Buffer.from(`${spec.creds.login}:${spec.creds.password}`, 'utf8').toString('base64')}`;
    if (spec.ibsession) headers.IBSession = spec.ibsession;
    if (spec.cookie !== undefined) headers.Cookie = `ibsession=${spec.cookie}`;
    let payload: Buffer | undefined;
    if (spec.body !== undefined) {
      payload = Buffer.from(typeof spec.body === 'string' ? spec.body : JSON.stringify(spec.body), 'utf8');
      headers['Content-Type'] = 'application/json; charset=utf-8';
      headers['Content-Length'] = String(payload.length);
    }
    const t0 = performance.now();
    const ms = (): number => Math.round(performance.now() - t0);
    return new Promise<Answer>((resolve) => {
      let done = false;
      const fail = (error: string): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve({ status: 0, headers: {}, body: '', contentType: '', sessionId: null, cookieName: null, ms: ms(), error });
      };
      const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { method: spec.method, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= MAX_BODY_KEPT) chunks.push(c);
        });
        res.on('error', (e) => fail(errorText(e)));
        res.on('end', () => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          const cookie = ibsessionCookie(res.headers['set-cookie']);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
            contentType: String(res.headers['content-type'] ?? ''),
            sessionId: cookie?.value ?? null,
            cookieName: cookie?.name ?? null,
            ms: ms(),
          });
        });
      });
      const timer = setTimeout(() => {
        req.destroy();
        fail(`no answer within ${this.opts.timeoutMs} ms`);
      }, this.opts.timeoutMs);
      req.on('error', (e) => fail(errorText(e)));
      req.end(payload);
    });
  }
}

function errorText(e: unknown): string {
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  const msg = e instanceof Error ? e.message : String(e);
  return typeof code === 'string' && !msg.includes(code) ? `${code}: ${msg}` : msg;
}

/** The `ibsession` cookie of a Set-Cookie list (name matched case-insensitively, so even a misspelt one gets finished). */
function ibsessionCookie(setCookie: string[] | undefined): { name: string; value: string } | null {
  for (const c of setCookie ?? []) {
    const m = /^\s*(ibsession)=([^;]*)/i.exec(c);
    if (m && m[2]) return { name: m[1], value: m[2] };
  }
  return null;
}
