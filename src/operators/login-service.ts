/**
 * Operator chat login (connector-api.md `POST /api/v1/operators/login`, licensing.md 2–5):
 *
 * 1. feature 42 for this host, else `403 chats_not_licensed`;
 * 2. a seat of 48 (`1c`) or 49 (`panel`) for the workstation user, else `403 seat_unavailable`;
 * 3. one free 1C license right now (LicenseAdmission), waiting up to ONEC_AUTH_WAIT_MS,
 *    else `503 onec_license_unavailable` with Retry-After;
 * 4. the short 1C web session (`OnecClient.authorize`), recorded in the journal before it
 *    is used and always finished — also when the HTTP client hangs up (the signal);
 * 5. an operator token (only its hash stored), the operator from 1C, the seat.
 *
 * A seat reference taken in step 2 is released when 3–4 fail; the seat itself stays when
 * the same workstation user holds it from another window.
 *
 * Login needs no API token (the operator's credentials are the proof), so before step 2 the
 * attempt takes a place in the LoginThrottle (per workstation user, per client address,
 * overall; see login-throttle.ts) and gives it back with its outcome. A token lives until
 * its sliding expiry or its hard end (OPERATOR_TOKEN_MAX_AGE_S), whichever comes first;
 * `revoke` ends every login of an operator at once (admin, API token).
 */
import { ConnectorError, ValidationError, type Logger } from '../core/index.ts';
import type { ClientKind, SeatFeatureId } from '../licensing/features.ts';
import { SEAT_FEATURE_OF_CLIENT } from '../licensing/features.ts';
import type { LicenseGate } from '../licensing/license-gate.ts';
import type { SeatManager } from '../licensing/seats.ts';
import type { OnecClient } from '../onec/onec-client.ts';
import { OnecAuthError, OnecLicenseRefusedError } from '../onec/onec-errors.ts';
import type { OnecAuthCredentials } from '../onec/onec-types.ts';
import { SemaphoreTimeoutError } from '../coordination/redis-semaphore.js';
import type { LicenseAdmission } from './license-admission.ts';
import type { LoginSessionJournal } from './login-sessions.ts';
import type { LoginThrottle } from './login-throttle.ts';
import type { OperatorFeed } from './operator-feed.ts';
import { ChatsNotLicensedError, OnecLicenseUnavailableError, OnecLoginUnreachableError, OperatorTokenError } from './operator-errors.ts';
import { OperatorStore, type OperatorIdentity, type OperatorLogin } from './operator-store.ts';

export interface LoginRequest {
  workstationUser: string;
  client: ClientKind;
  credentials: OnecAuthCredentials;
}

export interface SeatInfo {
  feature: SeatFeatureId;
  used: number;
  total: number;
}

export interface LoginResult {
  token: string;
  operator: OperatorIdentity;
  seat: SeatInfo;
  expiresAt: string;
}

export interface LoginStats {
  ok: number;
  failed: number;
  /** Longest time one login held a 1C license (authorize call to session finished), ms. */
  maxLicenseHeldMs: number;
  lastLicenseHeldMs: number;
  totalLicenseHeldMs: number;
}

export interface LoginServiceOptions {
  gate: Pick<LicenseGate, 'state'>;
  seats: Pick<SeatManager, 'acquire' | 'acquireOrThrow' | 'heartbeat' | 'release' | 'usage'>;
  onec: Pick<OnecClient, 'authorize'>;
  store: OperatorStore;
  journal: LoginSessionJournal;
  admission: LicenseAdmission;
  /** ONEC_AUTH_WAIT_MS. */
  authWaitMs: number;
  /** Retry-After of `503 onec_license_unavailable` (default 5 000 ms). */
  retryAfterMs?: number;
  /** Throttling of attempts (none: unthrottled, for tests of other parts). */
  throttle?: LoginThrottle;
  /** Tells open feeds that a revoke ended their login. */
  feed?: Pick<OperatorFeed, 'publish'>;
  /** Normalizes a workstation user for the throttle's count (default: trimmed, lower case). */
  normalizeUser?: (raw: string) => string;
  logger: Logger;
}

/** Where a login comes from (the throttle counts per client address). */
export interface LoginOrigin {
  address: string;
}

const str = (v: unknown): v is string => typeof v === 'string';

/** Checks the login body; ValidationError (400) naming the field. */
export function parseLoginRequest(body: unknown): LoginRequest {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new ValidationError('The request body must be a JSON object.');
  const b = body as Record<string, unknown>;
  if (!str(b.workstationUser) || !b.workstationUser.trim())
    throw new ValidationError('Field "workstationUser" must be a non-empty string.');
  if (b.client !== '1c' && b.client !== 'panel') throw new ValidationError('Field "client" must be "1c" or "panel".');
  let credentials: OnecAuthCredentials;
  if (b.pin !== undefined) {
    if (b.login !== undefined || b.password !== undefined)
      throw new ValidationError('Field "pin" cannot be combined with "login" and "password".');
    if (!str(b.pin) || !/^\d{4}$/.test(b.pin)) throw new ValidationError('Field "pin" must be 4 digits.');
    credentials = { pin: b.pin };
  } else {
    if (!str(b.login) || !b.login) throw new ValidationError('Field "login" must be a non-empty string (or send "pin").');
    if (!str(b.password)) throw new ValidationError('Field "password" must be a string.');
    credentials = { login: b.login, password: b.password };
  }
  return { workstationUser: b.workstationUser, client: b.client, credentials };
}

export class LoginService {
  readonly stats: LoginStats = { ok: 0, failed: 0, maxLicenseHeldMs: 0, lastLicenseHeldMs: 0, totalLicenseHeldMs: 0 };
  private readonly retryAfterMs: number;

  constructor(private readonly o: LoginServiceOptions) {
    this.retryAfterMs = o.retryAfterMs ?? 5_000;
  }

  async login(body: unknown, signal?: AbortSignal, origin: LoginOrigin = { address: 'unknown' }): Promise<LoginResult> {
    const req = parseLoginRequest(body);
    const gate = this.o.gate.state();
    if (!gate.chatsLicensed) throw new ChatsNotLicensedError(gate.reason);
    if (!this.o.throttle) return this.admitted(req, signal);
    const user = this.userKey(req.workstationUser);
    const attempt = await this.o.throttle.begin(user, origin.address);
    let outcome: 'ok' | 'bad' | 'other' = 'other';
    try {
      const res = await this.admitted(req, signal);
      outcome = 'ok';
      return res;
    } catch (err) {
      // Only a wrong password or PIN counts toward the backoff: 1C down or no license is not the caller's fault.
      if (err instanceof OnecAuthError && err.code === 'invalid_credentials') outcome = 'bad';
      throw err;
    } finally {
      await attempt
        .end(outcome)
        .catch((err: unknown) =>
          this.o.logger.warn({ err: String(err) }, 'could not record a login attempt for throttling; its place frees itself'),
        );
    }
  }

  private userKey(raw: string): string {
    if (this.o.normalizeUser) {
      try {
        return this.o.normalizeUser(raw);
      } catch {
        // An invalid name still counts, under its raw spelling (the seat step refuses it).
      }
    }
    return raw.trim().toLowerCase();
  }

  private async admitted(req: LoginRequest, signal?: AbortSignal): Promise<LoginResult> {
    const gate = this.o.gate.state();
    const feature = SEAT_FEATURE_OF_CLIENT[req.client];
    const total = gate.document.features[feature]?.granted ?? 0;
    const { token, tokenHash } = OperatorStore.newToken();
    const seatSession = `login-${tokenHash.slice(0, 32)}`;
    const seat = await this.o.seats.acquireOrThrow(feature, req.workstationUser, total, { session: seatSession, client: req.client });
    let done = false;
    try {
      const operator = await this.authorize(req.credentials, signal);
      // Record who holds the seat (the same session: a refresh, never a second seat).
      await this.o.seats.acquire(feature, req.workstationUser, total, {
        session: seatSession,
        client: req.client,
        operatorId: operator.id,
      });
      const login: OperatorLogin = {
        tokenHash,
        operator,
        workstationUser: seat.user,
        client: req.client,
        feature,
        seatSession,
        ...this.o.store.newLifetime(),
      };
      await this.o.store.save(login);
      done = true;
      this.stats.ok++;
      this.o.logger.info({ operatorId: operator.id, feature, client: req.client }, 'operator logged in for chats');
      return { token, operator, seat: { feature, used: seat.used, total: seat.total }, expiresAt: login.expiresAt };
    } finally {
      if (!done) {
        this.stats.failed++;
        await this.o.seats
          .release(feature, req.workstationUser, seatSession)
          .catch((err: unknown) =>
            this.o.logger.warn({ err: String(err) }, 'could not give back the seat of a failed login; it expires after SEAT_TTL_S'),
          );
      }
    }
  }

  /** Steps 3 and 4: a license, then the short session; waits again when 1C refused the license. */
  private async authorize(creds: OnecAuthCredentials, signal?: AbortSignal): Promise<OperatorIdentity> {
    const waitMs = this.o.authWaitMs;
    const deadline = Date.now() + waitMs;
    for (;;) {
      let permit;
      try {
        permit = await this.o.admission.admit({ waitMs: Math.max(0, deadline - Date.now()), signal });
      } catch (err) {
        if (err instanceof SemaphoreTimeoutError) throw new OnecLicenseUnavailableError(waitMs, this.retryAfterMs);
        throw mapOnecError(err);
      }
      // Given back as soon as 1C has finished the session (the bookkeeping after it needs no license).
      let released = false;
      const release = async () => {
        if (!released) {
          released = true;
          await permit.release().catch(() => undefined);
        }
      };
      try {
        return await this.session(creds, signal, release);
      } catch (err) {
        if (!(err instanceof OnecLicenseRefusedError)) throw mapOnecError(err);
        await this.o.admission.refused();
        if (Date.now() >= deadline || signal?.aborted) throw new OnecLicenseUnavailableError(waitMs, this.retryAfterMs);
      } finally {
        await release();
      }
    }
  }

  private async session(
    creds: OnecAuthCredentials,
    signal: AbortSignal | undefined,
    onFinished: () => Promise<void>,
  ): Promise<OperatorIdentity> {
    const t0 = performance.now();
    let sessionId: string | null = null;
    let finished = false;
    try {
      return await this.o.onec.authorize(creds, {
        signal,
        onSessionStarted: async (id) => {
          sessionId = id;
          await this.o.journal.record(id);
        },
        onSessionFinished: async (id) => {
          finished = true;
          const held = Math.round(performance.now() - t0);
          await onFinished();
          this.stats.lastLicenseHeldMs = held;
          this.stats.totalLicenseHeldMs += held;
          this.stats.maxLicenseHeldMs = Math.max(this.stats.maxLicenseHeldMs, held);
          this.o.logger.info({ licenseHeldMs: held }, `operator login held a 1C license for ${held} ms`);
          await this.o.journal.remove(id);
        },
      });
    } finally {
      // 1C could not confirm the end: leave the record to the orphan sweep.
      if (sessionId !== null && !finished) await this.o.journal.abandon(sessionId).catch(() => undefined);
    }
  }

  /** The login of an operator token (`Authorization: Bearer …`), or 401. */
  async authenticate(token: string | null): Promise<OperatorLogin> {
    const login = await this.o.store.lookup(token);
    if (!login) throw new OperatorTokenError();
    return login;
  }

  /** Keeps the token and the seat alive; takes the seat again if it lapsed (403 when none is free). */
  async heartbeat(token: string | null): Promise<{ expiresAt: string; seat: SeatInfo }> {
    const login = await this.authenticate(token);
    const total = this.o.gate.state().document.features[login.feature]?.granted ?? 0;
    const alive = await this.o.seats.heartbeat(login.feature, login.workstationUser, login.seatSession);
    let seat: SeatInfo;
    if (alive) {
      seat = { feature: login.feature, used: await this.o.seats.usage(login.feature), total };
    } else {
      try {
        const r = await this.o.seats.acquireOrThrow(login.feature, login.workstationUser, total, {
          session: login.seatSession,
          client: login.client,
          operatorId: login.operator.id,
        });
        seat = { feature: login.feature, used: r.used, total: r.total };
      } catch (err) {
        await this.o.store.remove(login);
        throw err;
      }
    }
    const next = await this.o.store.touch(login);
    return { expiresAt: next.expiresAt, seat };
  }

  /**
   * Ends every login of an operator (admin, `DELETE /api/v1/operators/:id/sessions`): the
   * tokens stop working, the seats are freed, and open feeds (on every instance) close at once.
   * Returns how many logins were ended.
   */
  async revoke(operatorId: string): Promise<number> {
    const logins = await this.o.store.loginsOf(operatorId);
    for (const login of logins) {
      await this.o.store.remove(login);
      await this.o.seats
        .release(login.feature, login.workstationUser, login.seatSession)
        .catch((err: unknown) => this.o.logger.warn({ err: String(err) }, 'could not free a revoked seat; it expires after SEAT_TTL_S'));
    }
    await this.o.feed
      ?.publish([{ operatorId, type: 'session-ended', data: {} }])
      .catch((err: unknown) =>
        this.o.logger.warn({ err: String(err) }, 'could not tell open feeds of a revoke; they close at their next heartbeat'),
      );
    this.o.logger.info({ operatorId, logins: logins.length }, 'operator logins revoked by an administrator');
    return logins.length;
  }

  /** Frees the seat reference and the token. */
  async logout(token: string | null): Promise<void> {
    const login = await this.authenticate(token);
    await this.o.seats.release(login.feature, login.workstationUser, login.seatSession);
    await this.o.store.remove(login);
    this.o.logger.info({ operatorId: login.operator.id }, 'operator logged out of chats');
  }
}

/** What a failure of 1C during login means for the API. */
function mapOnecError(err: unknown): unknown {
  if (err instanceof OnecAuthError || err instanceof OnecLicenseUnavailableError) return err;
  if (err instanceof ConnectorError) return new OnecLoginUnreachableError(err.message, err);
  return err;
}
