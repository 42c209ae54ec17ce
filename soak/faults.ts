/**
 * The seeded fault schedule: every few seconds one fault from the list below, each
 * undone after its own seeded duration (faults overlap). Everything is driven by the
 * soak's PRNG, so a seed replays the same schedule (the system's own timing still varies).
 */
import type { OnecEmulator, OutageMode } from '../src/onec/emulator/index.ts';
import type { TelegramEmulator } from '../src/emulators/telegram/index.ts';
import type { LocalBot } from '../src/infra/local-stack.ts';
import type { ConnectorInstance } from './instances.ts';
import { sleep, type Prng } from './prng.ts';
import type { SoakRedis } from './soak-redis.ts';

export type FaultKind =
  | 'kill9'
  | 'sigterm'
  | 'redis_restart'
  | 'onec_outage_503'
  | 'onec_outage_drop'
  | 'onec_outage_hang'
  | 'onec_500_burst'
  | 'onec_latency_spike'
  | 'onec_licenses_taken'
  | 'telegram_429'
  | 'telegram_409'
  | 'telegram_500'
  | 'license_expired';

/**
 * The faults are dealt from a deck, shuffled by the seed: every kind comes up once per
 * round (so a 2-minute run meets each of them), the common ones more often.
 */
const DECK: FaultKind[] = [
  'kill9',
  'kill9',
  'sigterm',
  'redis_restart',
  'onec_outage_503',
  'onec_outage_drop',
  'onec_outage_hang',
  'onec_500_burst',
  'onec_latency_spike',
  'onec_licenses_taken',
  'telegram_429',
  'telegram_409',
  'telegram_500',
  'license_expired',
];

export interface FaultsOptions {
  prng: Prng;
  instances: ConnectorInstance[];
  redis: SoakRedis;
  onec: OnecEmulator;
  telegram: TelegramEmulator;
  bots: LocalBot[];
  baseLatency: { perCallMs: number; perMessageMs: number; newSessionMs: number };
  writeLicense(expired: boolean): void;
  /** ONEC_TIMEOUT_MS: hanging calls last longer than this. */
  onecTimeoutMs: number;
  log(line: string): void;
  onFatal(message: string): void;
}

export class Faults {
  readonly counts: Partial<Record<FaultKind, number>> = {};
  readonly sigtermExitCodes: Array<number | string> = [];
  licenseExpired = false;
  /** Until when logins may see `chats_not_licensed` (the gate notices a change within a few seconds). */
  licenseOffUntil = 0;
  private running = false;
  private loop: Promise<void> | null = null;
  private active = new Set<Promise<void>>();
  private licensesTaken = 0;
  private latencySpikes = 0;
  private expiredWindows = 0;
  private injected = 0;
  private busy = new Set<ConnectorInstance>();

  constructor(private readonly o: FaultsOptions) {}

  start(firstAfterMs: number): void {
    this.running = true;
    this.loop = this.run(firstAfterMs);
  }

  /** Stops scheduling; resolves once every fault in progress was undone. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await Promise.all([...this.active]);
    this.o.onec.clearFaults();
    this.o.onec.clearOutage();
    this.o.onec.setLatency(this.o.baseLatency);
  }

  private async run(firstAfterMs: number): Promise<void> {
    const p = this.o.prng;
    await sleep(firstAfterMs);
    let deck: FaultKind[] = [];
    while (this.running) {
      if (deck.length === 0) deck = shuffle(p, DECK);
      const kind = deck.shift() as FaultKind;
      const job = this.inject(kind, p.fork(++this.injected)).catch((err: unknown) => {
        this.o.onFatal(`fault ${kind} could not be injected or undone: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      });
      this.active.add(job);
      void job.finally(() => this.active.delete(job));
      const gap = p.int(3_000, 9_000);
      const until = Date.now() + gap;
      while (this.running && Date.now() < until) await sleep(100);
    }
  }

  private count(kind: FaultKind): void {
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
  }

  private async inject(kind: FaultKind, p: Prng): Promise<void> {
    const { onec, telegram, bots } = this.o;
    switch (kind) {
      case 'kill9':
      case 'sigterm': {
        const inst = p.pick(this.o.instances);
        if (!inst.running || this.busy.has(inst)) return;
        this.busy.add(inst);
        try {
          this.count(kind);
          this.o.log(`fault: ${kind} ${inst.name}`);
          if (kind === 'kill9') await inst.kill9();
          else {
            const code = await inst.terminate();
            this.sigtermExitCodes.push(code);
            if (code !== 0) this.o.onFatal(`${inst.name} exited with ${String(code)} after SIGTERM (a graceful stop exits 0)`);
          }
          await sleep(p.int(500, 4000));
          await inst.start();
        } finally {
          this.busy.delete(inst);
        }
        return;
      }
      case 'redis_restart': {
        this.count(kind);
        const pause = p.int(300, 3000);
        this.o.log(`fault: Redis SHUTDOWN, back after ${pause} ms`);
        await this.o.redis.restart(pause);
        return;
      }
      case 'onec_outage_503':
      case 'onec_outage_drop':
      case 'onec_outage_hang': {
        this.count(kind);
        const mode = kind.slice('onec_outage_'.length) as OutageMode;
        const forMs = mode === 'hang' ? p.int(this.o.onecTimeoutMs + 500, this.o.onecTimeoutMs * 3) : p.int(1500, 8000);
        this.o.log(`fault: 1C outage (${mode}) for ${forMs} ms`);
        onec.outage({ mode, forMs });
        await sleep(forMs + 50);
        return;
      }
      case 'onec_500_burst': {
        this.count(kind);
        const n = p.int(3, 15);
        this.o.log(`fault: the next ${n} 1C calls answer 500`);
        onec.failNext({ count: n, status: 500 });
        return;
      }
      case 'onec_latency_spike': {
        this.count(kind);
        const ms = p.int(100, 900);
        const forMs = p.int(3000, 12000);
        this.o.log(`fault: 1C latency +${ms} ms per call for ${forMs} ms`);
        this.latencySpikes += 1;
        onec.setLatency({ perCallMs: this.o.baseLatency.perCallMs + ms, newSessionMs: this.o.baseLatency.newSessionMs + ms });
        await sleep(forMs);
        if (--this.latencySpikes === 0) onec.setLatency(this.o.baseLatency);
        return;
      }
      case 'onec_licenses_taken': {
        this.count(kind);
        const taken = onec.takeLicenses(1000);
        this.licensesTaken += taken;
        const forMs = p.int(2000, 10000);
        this.o.log(`fault: other 1C users take the ${taken} free licenses for ${forMs} ms`);
        await sleep(forMs);
        onec.returnLicenses(taken);
        this.licensesTaken -= taken;
        return;
      }
      case 'telegram_429':
      case 'telegram_500': {
        this.count(kind);
        const bot = p.pick(bots);
        const method = p.chance(0.7) ? 'sendMessage' : 'getUpdates';
        const n = p.int(1, 5);
        this.o.log(`fault: ${bot.username} ${method} answers ${kind.slice(9)} ×${n}`);
        telegram.injectFault(bot.token, method, kind === 'telegram_429' ? '429' : '500', n, p.int(1, 3));
        return;
      }
      case 'telegram_409': {
        // A second poller: a getUpdates of our own ends the connector's waiting poll with 409.
        // No offset, so nothing is confirmed (Telegram's semantics).
        this.count(kind);
        const bot = p.pick(bots);
        this.o.log(`fault: a second poller on ${bot.username} (409 for the connector)`);
        await fetch(`${telegram.apiRoot}/bot${bot.token}/getUpdates`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ timeout: 0, limit: 1 }),
        })
          .then((r) => r.text())
          .catch(() => undefined);
        return;
      }
      case 'license_expired': {
        if (this.licenseExpired) return;
        this.count(kind);
        const forMs = p.int(2000, 8000);
        this.o.log(`fault: the license file is swapped for an expired one for ${forMs} ms`);
        this.licenseExpired = true;
        this.licenseOffUntil = Number.POSITIVE_INFINITY;
        this.o.writeLicense(true);
        await sleep(forMs);
        this.o.writeLicense(false);
        this.licenseExpired = false;
        // The gate re-reads within its poll interval; logins may still be refused meanwhile.
        this.licenseOffUntil = Date.now() + 8000;
        this.expiredWindows += 1;
        return;
      }
    }
  }
}

function shuffle<T>(p: Prng, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = p.int(0, i);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
