/**
 * Simulated operators logging in to chats (PIN or 1C password, `1c` or `panel` client),
 * sending heartbeats, and logging out, against either instance. Tracks what the invariants
 * need: who is logged in (their workstation users hold the seats), and how many logins are
 * in flight — counting a login whose answer was lost (its instance died) as in flight for
 * as long as its 1C session may live on (ONEC_SESSION_MAX_AGE_S).
 */
import { DEMO_USERS } from '../src/onec/emulator/index.ts';
import { call, errorCode, type HttpAnswer } from './http-client.ts';
import { sleep, type Prng } from './prng.ts';

interface Slot {
  workstationUser: string;
  token: string | null;
  lastHeartbeatOk: number;
}

export interface OperatorStats {
  loginAttempts: number;
  loginsOk: number;
  loginsByPin: number;
  loginsByPassword: number;
  loginErrors: Record<string, number>;
  heartbeatsOk: number;
  heartbeatErrors: Record<string, number>;
  logoutsOk: number;
  ambiguousLogins: number;
  maxLoginsInFlight: number;
}

export interface OperatorsOptions {
  instances: () => string[];
  apiToken: string;
  prng: Prng;
  slots: number;
  /** How long a lost login's 1C session may stay open (ms). */
  lostSessionGraceMs: number;
  /** SEAT_TTL_S in ms: a heartbeat gap longer than this may lose the login. */
  seatTtlMs: number;
  /** Is the license deliberately expired right now (or was recently)? */
  licenseOff(): boolean;
  onFatal(message: string): void;
}

const OPERATORS = DEMO_USERS.filter((u) => u.pin && u.serviceRights !== false);

export class Operators {
  readonly stats: OperatorStats = {
    loginAttempts: 0,
    loginsOk: 0,
    loginsByPin: 0,
    loginsByPassword: 0,
    loginErrors: {},
    heartbeatsOk: 0,
    heartbeatErrors: {},
    logoutsOk: 0,
    ambiguousLogins: 0,
    maxLoginsInFlight: 0,
  };
  private readonly slots: Slot[];
  private inflight = 0;
  private lost: number[] = [];
  private running = false;
  private loops: Promise<void>[] = [];

  constructor(private readonly o: OperatorsOptions) {
    this.slots = Array.from({ length: o.slots }, (_, i) => ({
      workstationUser: i % 2 ? `soak${i}@corp` : `CORP\\soak${i}`,
      token: null,
      lastHeartbeatOk: 0,
    }));
  }

  /** Logins whose 1C session may be open now: requests in flight plus lost ones still within their grace. */
  loginsInFlight(now = Date.now()): number {
    this.lost = this.lost.filter((t) => t > now);
    return this.inflight + this.lost.length;
  }

  loggedIn(): number {
    return this.slots.filter((s) => s.token !== null).length;
  }

  start(): void {
    this.running = true;
    this.loops = this.slots.map((s, i) => this.run(s, this.o.prng.fork(i + 1)));
  }

  /** Stops the cycles; operators logged in stay logged in (heartbeating) until `logoutAll`. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  /** Heartbeats of the operators still logged in (used while the end checks wait). */
  async heartbeatAll(): Promise<void> {
    for (const s of this.slots) if (s.token) await this.heartbeat(s);
  }

  async logoutAll(): Promise<void> {
    await Promise.all(this.slots.map((s) => this.logout(s)));
  }

  private url(p: Prng): string {
    return p.pick(this.o.instances());
  }

  private async run(s: Slot, p: Prng): Promise<void> {
    while (this.running) {
      await sleep(p.int(1000, 8000));
      if (!this.running) break;
      if (!(await this.login(s, p))) continue;
      const until = Date.now() + p.int(5_000, 40_000);
      while (this.running && Date.now() < until) {
        await sleep(p.int(1500, 3000));
        await this.heartbeat(s);
      }
      if (this.running) await this.logout(s);
    }
  }

  /** Logs in; an answer lost on the way is retried (same workstation user: one seat). */
  private async login(s: Slot, p: Prng): Promise<boolean> {
    const user = p.pick(OPERATORS);
    const byPin = p.chance(0.5);
    const body = {
      workstationUser: s.workstationUser,
      client: p.chance(0.5) ? '1c' : 'panel',
      ...(byPin ? { pin: user.pin } : { login: user.login, password: user.password }),
    };
    for (let attempt = 0; attempt < 100; attempt++) {
      this.stats.loginAttempts += 1;
      this.inflight += 1;
      this.stats.maxLoginsInFlight = Math.max(this.stats.maxLoginsInFlight, this.loginsInFlight());
      let a: HttpAnswer;
      try {
        a = await call(this.url(p), 'POST', '/api/v1/operators/login', this.o.apiToken, body, 60_000);
      } finally {
        this.inflight -= 1;
        // The session of a finished login may be ending in 1C just as the answer arrives.
        this.lost.push(Date.now() + 500);
      }
      if (a.kind === 'answer' && a.status === 200 && typeof a.body.token === 'string') {
        s.token = a.body.token;
        s.lastHeartbeatOk = Date.now();
        this.stats.loginsOk += 1;
        if (byPin) this.stats.loginsByPin += 1;
        else this.stats.loginsByPassword += 1;
        return true;
      }
      const code = errorCode(a);
      this.stats.loginErrors[code] = (this.stats.loginErrors[code] ?? 0) + 1;
      if (a.kind === 'refused') {
        await sleep(300);
        continue;
      }
      if (a.kind === 'network' || (a.status >= 500 && code !== 'onec_license_unavailable' && code !== 'onec_unreachable')) {
        // No answer: the login may have opened a 1C session that lives on until 1C ends it.
        this.stats.ambiguousLogins += 1;
        this.lost.push(Date.now() + this.o.lostSessionGraceMs);
        await sleep(500);
        continue;
      }
      if (code === 'onec_unreachable') {
        // 1C failed mid-login: the short session's finish may have failed too, and 1C then
        // keeps that session (and its license) until sessionMaxAge — the connector says so.
        this.lost.push(Date.now() + this.o.lostSessionGraceMs);
      }
      if (code === 'invalid_credentials' || code === 'seat_unavailable' || (code === 'chats_not_licensed' && !this.o.licenseOff())) {
        this.o.onFatal(
          `operator login of ${s.workstationUser} failed with ${code} although it should succeed: ${JSON.stringify(a).slice(0, 300)}`,
        );
      }
      return false;
    }
    return false;
  }

  private async heartbeat(s: Slot): Promise<void> {
    if (!s.token) return;
    const a = await call(this.o.instances()[0] ?? '', 'POST', '/api/v1/operators/heartbeat', s.token, undefined, 10_000).then((r) =>
      r.kind !== 'answer' && this.o.instances().length > 1
        ? call(this.o.instances()[1], 'POST', '/api/v1/operators/heartbeat', s.token ?? '', undefined, 10_000)
        : r,
    );
    if (a.kind === 'answer' && a.status === 200) {
      s.lastHeartbeatOk = Date.now();
      this.stats.heartbeatsOk += 1;
      return;
    }
    const code = errorCode(a);
    this.stats.heartbeatErrors[code] = (this.stats.heartbeatErrors[code] ?? 0) + 1;
    if (a.kind === 'answer' && a.status === 401 && Date.now() - s.lastHeartbeatOk < this.o.seatTtlMs - 2000) {
      this.o.onFatal(
        `a logged-in operator's token was forgotten (heartbeat 401 ${Math.round((Date.now() - s.lastHeartbeatOk) / 1000)} s after the last good one)`,
      );
    }
    if (a.kind === 'answer' && a.status === 401) s.token = null;
  }

  /** Logs out, retrying an answer lost on the way; a 401 after a lost answer means it already happened. */
  private async logout(s: Slot): Promise<void> {
    if (!s.token) return;
    let lostOne = false;
    for (let attempt = 0; attempt < 60; attempt++) {
      const a = await call(
        this.o.instances()[attempt % this.o.instances().length],
        'POST',
        '/api/v1/operators/logout',
        s.token,
        undefined,
        10_000,
      );
      if (a.kind === 'answer' && a.status === 200) {
        this.stats.logoutsOk += 1;
        s.token = null;
        return;
      }
      if (a.kind === 'answer' && a.status === 401) {
        if (!lostOne && Date.now() - s.lastHeartbeatOk < this.o.seatTtlMs - 2000)
          this.o.onFatal(`logout of a logged-in operator answered 401 (token forgotten)`);
        s.token = null;
        return;
      }
      lostOne = true;
      await sleep(500);
    }
    this.o.onFatal(`logout of ${s.workstationUser} got no answer for 30 s`);
  }
}
