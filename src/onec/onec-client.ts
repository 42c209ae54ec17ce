/**
 * The 1C client (onec-http-service.md): batched, idempotent deliveries over a few reused
 * routing sessions, and short sessions for operator login that are always finished.
 */
import { abortReason, ConnectorError, describeError, silentLogger, type InboundMessage, type Logger } from '../core/index.ts';
import { OnecBatcher } from './onec-batcher.ts';
import { classifyOnecResponse, OnecLicenseRefusedError, OnecProtocolError, OnecSessionGoneError } from './onec-errors.ts';
import { OnecSessionPool } from './onec-session-pool.ts';
import { OnecTransport, type OnecCredentials, type OnecResponse } from './onec-transport.ts';
import { LocalSessionPermits } from './session-permits.ts';
import type {
  OnecAuthCredentials,
  OnecAuthorizeOptions,
  OnecClientOptions,
  OnecItemResult,
  OnecLicenses,
  OnecObserver,
  OnecOperator,
  OnecRoutingEvent,
  OnecStatusUpdate,
} from './onec-types.ts';

/** The delivery side of the client, for code that only delivers (queue workers). */
export interface OnecDelivery {
  /** At most `batchMax` messages per call; results in the same order, matched by id. */
  deliverMessages(msgs: InboundMessage[]): Promise<OnecItemResult[]>;
  deliverStatuses(events: OnecStatusUpdate[]): Promise<OnecItemResult[]>;
  deliverRouting(events: OnecRoutingEvent[]): Promise<OnecItemResult[]>;
}

const MAX_BATCH = 500;
/**
 * How long a status or routing batch that is not full may wait while every 1C session is
 * busy: a quarter second later in 1C, against a call of their own (20+ ms of 1C's time) for
 * every one or two events during a backlog.
 */
export const SIDE_TRAFFIC_LINGER_MS = 250;

export class OnecClient implements OnecDelivery {
  private readonly transport: OnecTransport;
  private readonly pool: OnecSessionPool;
  private readonly service: OnecCredentials;
  private readonly logger: Logger;
  private observer: OnecObserver | undefined;
  private readonly messages: OnecBatcher<InboundMessage>;
  private readonly statuses: OnecBatcher<OnecStatusUpdate>;
  private readonly routing: OnecBatcher<OnecRoutingEvent>;
  private closed = false;

  constructor(opts: OnecClientOptions) {
    if (!opts.baseUrl) throw new TypeError('OnecClient needs baseUrl (ONEC_BASE_URL)');
    if (!opts.user) throw new TypeError('OnecClient needs user (ONEC_USER)');
    const maxSessions = opts.maxSessions ?? 1;
    const batchMax = opts.batchMax ?? 100;
    if (!Number.isInteger(maxSessions) || maxSessions < 1) throw new RangeError(`maxSessions must be >= 1, got ${maxSessions}`);
    if (!Number.isInteger(batchMax) || batchMax < 1 || batchMax > MAX_BATCH)
      throw new RangeError(`batchMax must be 1..${MAX_BATCH}, got ${batchMax}`);
    this.logger = opts.logger ?? silentLogger;
    this.observer = opts.observer;
    this.service = { login: opts.user, password: opts.password ?? '' };
    this.transport = new OnecTransport({ baseUrl: opts.baseUrl, timeoutMs: opts.timeoutMs ?? 10_000 });
    this.pool = new OnecSessionPool({
      transport: this.transport,
      credentials: this.service,
      maxSessions,
      idleFinishMs: opts.idleFinishMs ?? 2_000,
      sessionMaxAgeMs: opts.sessionMaxAgeMs,
      permits: opts.permits ?? new LocalSessionPermits(maxSessions),
      logger: this.logger,
      // Forwards to whatever observer is set now (setObserver may replace it later).
      observer: {
        onCall: (e, o, ms) => this.observer?.onCall?.(e, o, ms),
        onSessionsOpen: (n) => this.observer?.onSessionsOpen?.(n),
        onLicenseRefused: () => this.observer?.onLicenseRefused?.(),
      },
    });
    const common = { batchMax, pool: this.pool, transport: this.transport };
    // Statuses and routing events wait a little while 1C's sessions are all busy, so they
    // share its calls instead of taking every other one (onec-batcher.ts); messages never wait.
    const side = { ...common, lingerWhenBusyMs: SIDE_TRAFFIC_LINGER_MS };
    this.messages = new OnecBatcher<InboundMessage>({ ...common, endpoint: 'messages', key: 'messages' });
    this.statuses = new OnecBatcher<OnecStatusUpdate>({
      ...side,
      endpoint: 'statuses',
      key: 'statuses',
      toWire: (s) => ({ id: s.id, status: s.status, at: s.at, ...(s.error !== undefined ? { error: s.error } : {}) }),
    });
    this.routing = new OnecBatcher<OnecRoutingEvent>({ ...side, endpoint: 'routing', key: 'events' });
  }

  /** Replaces the metrics hooks (e.g. the metrics feature, built after the client). */
  setObserver(observer: OnecObserver | undefined): void {
    this.observer = observer;
  }

  /** Routing sessions 1C has open for this client right now. */
  get openSessions(): number {
    return this.pool.open;
  }

  deliverMessages(msgs: InboundMessage[]): Promise<OnecItemResult[]> {
    return this.messages.submit(msgs);
  }

  deliverStatuses(events: OnecStatusUpdate[]): Promise<OnecItemResult[]> {
    return this.statuses.submit(events);
  }

  deliverRouting(events: OnecRoutingEvent[]): Promise<OnecItemResult[]> {
    return this.routing.submit(events);
  }

  /**
   * Operator authorization in a short session of its own: open (`IBSession: start`),
   * `onSessionStarted`, `POST /auth` (with `IBSession: finish`), and in every case —
   * success, 401, 1C error, timeout, abort — the session is finished before this settles.
   * Opening is not cut short by `signal` (so the session id is never lost); it is bounded
   * by `timeoutMs`.
   */
  async authorize(creds: OnecAuthCredentials, opts: OnecAuthorizeOptions = {}): Promise<OnecOperator> {
    const { signal } = opts;
    if (signal?.aborted) throw abortReason(signal);
    const usePin = 'pin' in creds;
    const credentials: OnecCredentials = usePin ? this.service : { login: creds.login, password: creds.password };
    const openRes = await this.timed('licenses', () =>
      this.transport.send({ method: 'GET', path: '/licenses', credentials, session: { mode: 'start' } }),
    );
    const id = openRes.sessionId;
    let finished = false;
    try {
      this.check(openRes, '/licenses');
      if (!id)
        throw new OnecProtocolError(
          '1C answered without opening a session (no ibsession cookie); check that the publication reuses sessions.',
        );
      await opts.onSessionStarted?.(id);
      if (signal?.aborted) throw abortReason(signal);
      const res = await this.timed('auth', () =>
        this.transport.send({
          method: 'POST',
          path: '/auth',
          body: usePin ? { pin: creds.pin } : {},
          credentials,
          session: { mode: 'finish', id },
          signal,
        }),
      );
      finished = res.status >= 200 && res.status < 300;
      const data = this.json(res, '/auth');
      return parseOperator(data);
    } finally {
      if (id) {
        if (!finished) finished = await this.finishQuietly(id, credentials);
        if (finished) {
          try {
            await opts.onSessionFinished?.(id);
          } catch (err) {
            this.logger.warn({ err: describeError(err) }, 'onSessionFinished failed');
          }
        }
      }
    }
  }

  /**
   * Ends a session a crashed process left open (its id was recorded by `onSessionStarted`).
   * Resolves true when 1C ended it now, false when it no longer existed; throws when 1C
   * cannot be asked (try again later). `creds` default to the service user.
   */
  async finishOrphanSession(sessionId: string, creds?: { login: string; password: string }): Promise<boolean> {
    const res = await this.transport.send({
      method: 'GET',
      path: '/licenses',
      credentials: creds ?? this.service,
      session: { mode: 'finish', id: sessionId },
    });
    try {
      this.transport.check(res, '/licenses');
      return true;
    } catch (err) {
      if (err instanceof OnecSessionGoneError) return false;
      throw err;
    }
  }

  /** `GET /licenses`: in a routing session if one is open, else in a short one finished at once. */
  async getLicenses(): Promise<OnecLicenses> {
    if (this.pool.open > 0) {
      return this.pool.run(async (s) =>
        parseLicenses(this.json(await this.pool.call(s, { method: 'GET', path: '/licenses' }), '/licenses')),
      );
    }
    const res = await this.timed('licenses', () =>
      this.transport.send({ method: 'GET', path: '/licenses', credentials: this.service, session: { mode: 'start' } }),
    );
    try {
      return parseLicenses(this.json(res, '/licenses'));
    } finally {
      if (res.sessionId) await this.finishQuietly(res.sessionId, this.service);
    }
  }

  /** Finishes every routing session (waiting for calls in flight) and stops taking work. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.close();
    this.transport.close();
  }

  private check(res: OnecResponse, path: string): void {
    try {
      this.transport.check(res, path);
    } catch (err) {
      if (err instanceof OnecLicenseRefusedError) this.observer?.onLicenseRefused?.();
      throw err;
    }
  }

  private json(res: OnecResponse, path: string): unknown {
    this.check(res, path);
    return this.transport.json(res, path);
  }

  private async timed(endpoint: string, fn: () => Promise<OnecResponse>): Promise<OnecResponse> {
    const started = Date.now();
    try {
      const res = await fn();
      this.observer?.onCall?.(endpoint, res.status >= 200 && res.status < 300 ? 'ok' : `http_${res.status}`, Date.now() - started);
      return res;
    } catch (err) {
      this.observer?.onCall?.(endpoint, err instanceof ConnectorError ? err.code : 'aborted', Date.now() - started);
      throw err;
    }
  }

  /** `IBSession: finish`; true when 1C no longer has the session afterwards. */
  private async finishQuietly(id: string, credentials: OnecCredentials): Promise<boolean> {
    try {
      const res = await this.transport.send({ method: 'GET', path: '/licenses', credentials, session: { mode: 'finish', id } });
      if (res.status >= 200 && res.status < 300) return true;
      // Already gone (e.g. ended by `IBSession: finish` on the request before): nothing holds a license.
      if (classifyOnecResponse(res, this.transport.ctx('/licenses')) instanceof OnecSessionGoneError) return true;
      this.logger.warn({ status: res.status }, 'could not finish a short 1C session; it ends after sessionMaxAge');
      return false;
    } catch (err) {
      this.logger.warn({ err: describeError(err) }, 'could not finish a short 1C session; it ends after sessionMaxAge');
      return false;
    }
  }
}

function parseOperator(data: unknown): OnecOperator {
  const op = typeof data === 'object' && data !== null ? (data as { operator?: unknown }).operator : undefined;
  const o = (typeof op === 'object' && op !== null ? op : {}) as Record<string, unknown>;
  const groups = o.groups === undefined ? [] : o.groups;
  if (typeof o.id !== 'string' || typeof o.name !== 'string' || !Array.isArray(groups) || !groups.every((g) => typeof g === 'string')) {
    throw new OnecProtocolError('1C answered /auth without an operator {id, name, groups}.');
  }
  return { id: o.id, name: o.name, groups: [...groups] };
}

function parseLicenses(data: unknown): OnecLicenses {
  const o = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>;
  if (typeof o.total !== 'number' || typeof o.used !== 'number' || typeof o.free !== 'number') {
    throw new OnecProtocolError('1C answered /licenses without {total, used, free}.');
  }
  return { total: o.total, used: o.used, free: o.free };
}
