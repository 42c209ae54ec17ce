/**
 * Runs each account (bot, WhatsApp number) on exactly one connector instance: a Redis lease
 * per account (a token lock, src/redis/token-lock.ts), renewed while this instance is alive,
 * taken over by another instance within `leaseMs` + `retryMs` when the holder dies. Telegram
 * answers 409 to a second poller and WhatsApp replaces a second socket — two instances must
 * never both connect.
 *
 * The supervisor also carries the license gate: runners start only while `enabled` (feature
 * 42 granted to this host) and stop when it is withdrawn, without a restart.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { describeError, type AccountRunner, type AccountState, type InboundSink, type Logger, silentLogger } from '../core/index.ts';
import { acquireLock, releaseLock, renewLock } from '../redis/token-lock.ts';

/** The Redis key of an account's lease (`<prefix>:lease:account:<tg:botId | wa:name | tgu:name>`); its value names the holder. */
export function accountLeaseKey(prefix: string, leaseKey: string): string {
  return `${prefix}:lease:account:${leaseKey}`;
}

export interface AccountSupervisorOptions {
  redis: Redis;
  /** Key prefix (QUEUE_PREFIX). */
  prefix: string;
  sink: InboundSink;
  runners: AccountRunner[];
  /** This instance's name, stored in the lease for operators to see (default host-pid). */
  instanceId: string;
  /** Lease length; renewed every third of it (default 15 000 ms). */
  leaseMs?: number;
  /** How often an instance without the lease tries to take it (default 5 000 ms). */
  retryMs?: number;
  logger?: Logger;
}

interface Slot {
  runner: AccountRunner;
  key: string;
  held: boolean;
  running: boolean;
  /** Serializes start/stop of one runner. */
  chain: Promise<void>;
}

export class AccountSupervisor {
  private readonly redis: Redis;
  private readonly slots: Slot[];
  private readonly token: string;
  private readonly leaseMs: number;
  private readonly retryMs: number;
  private readonly log: Logger;
  private enabled = false;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly o: AccountSupervisorOptions) {
    this.redis = o.redis;
    this.token = `${o.instanceId}#${randomBytes(6).toString('hex')}`;
    this.leaseMs = o.leaseMs ?? 15_000;
    this.retryMs = o.retryMs ?? 5_000;
    this.log = (o.logger ?? silentLogger).child({ component: 'accounts' });
    this.slots = o.runners.map((runner) => ({
      runner,
      key: accountLeaseKey(o.prefix, runner.leaseKey),
      held: false,
      running: false,
      chain: Promise.resolve(),
    }));
  }

  /** Starts the lease loop. Runners start once `setEnabled(true)` and a lease is held. */
  start(): void {
    if (this.timer || this.closed) return;
    const tick = () => {
      this.tick()
        .catch((err) => this.log.warn({ err: describeError(err) }, 'account lease round failed; retrying'))
        .finally(() => {
          if (!this.closed) {
            this.timer = setTimeout(tick, Math.min(this.retryMs, Math.floor(this.leaseMs / 3)));
            this.timer.unref();
          }
        });
    };
    tick();
  }

  /** The license gate: false stops every runner here and gives the leases back. */
  async setEnabled(on: boolean): Promise<void> {
    if (this.enabled === on) return;
    this.enabled = on;
    if (!on) await Promise.all(this.slots.map((s) => this.stopSlot(s, true)));
    else await this.tick();
  }

  private async tick(): Promise<void> {
    if (!this.enabled || this.closed) return;
    await Promise.all(
      this.slots.map(async (s) => {
        if (s.held) {
          const ok = await renewLock(this.redis, s.key, this.token, this.leaseMs);
          if (!ok) {
            s.held = false;
            this.log.error(
              { account: s.runner.leaseKey },
              `lost the lease of ${s.runner.leaseKey} (this instance stalled?); disconnecting it here`,
            );
            await this.stopSlot(s, false);
          }
          return;
        }
        if (await acquireLock(this.redis, s.key, this.token, this.leaseMs)) {
          s.held = true;
          this.log.info({ account: s.runner.leaseKey }, `this instance now runs ${s.runner.leaseKey}`);
          await this.startSlot(s);
        }
      }),
    );
  }

  private startSlot(s: Slot): Promise<void> {
    s.chain = s.chain.then(async () => {
      if (s.running || !this.enabled || !s.held) return;
      try {
        await s.runner.start(this.o.sink);
        s.running = true;
      } catch (err) {
        this.log.error({ account: s.runner.leaseKey, err: describeError(err) }, `could not start ${s.runner.leaseKey}`);
      }
    });
    return s.chain;
  }

  private stopSlot(s: Slot, releaseLease: boolean): Promise<void> {
    s.chain = s.chain.then(async () => {
      if (s.running) {
        await s.runner.stop().catch((err) => this.log.warn({ account: s.runner.leaseKey, err: describeError(err) }, 'runner stop failed'));
        s.running = false;
      }
      if (releaseLease && s.held) {
        await releaseLock(this.redis, s.key, this.token).catch(() => undefined);
        s.held = false;
      }
    });
    return s.chain;
  }

  /** Stops every runner and releases the leases (graceful shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await Promise.all(this.slots.map((s) => this.stopSlot(s, true)));
  }

  /** Account states, with `standby` for accounts another instance runs and `unlicensed` when gated. */
  states(): AccountState[] {
    return this.slots.map((s) => {
      const st = s.runner.state();
      if (!this.enabled) return { ...st, state: 'unlicensed' };
      if (!s.held) return { ...st, state: 'standby' };
      return st;
    });
  }

  /** Which instance holds each account's lease (for the accounts API and doctor). */
  async holders(): Promise<Record<string, string | null>> {
    const vals = await Promise.all(this.slots.map((s) => this.redis.get(s.key)));
    return Object.fromEntries(this.slots.map((s, i) => [s.runner.leaseKey, vals[i]?.split('#')[0] ?? null]));
  }
}
