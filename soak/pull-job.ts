/**
 * `--pull`: the 1C job of pull mode under fire. It polls whichever instance runs (they are
 * killed and restarted by the fault schedule), crashes between fetch and ack on a seeded
 * share of its pages (the page is stored but not acknowledged, and the job restarts with
 * no cursor), and now and then pauses for a few seconds, as a 1C scheduled job does.
 */
import type { OnecEmulator } from '../src/onec/emulator/index.ts';
import { EmulatorPullPoller } from '../src/onec/emulator/index.ts';
import type { ConnectorInstance } from './instances.ts';
import { type Prng, sleep } from './prng.ts';

export interface SoakPullJobOptions {
  onec: OnecEmulator;
  instances: ConnectorInstance[];
  apiToken: string;
  prng: Prng;
  /** Share of pages after which the job crashes before the ack (default 0.1). */
  crashChance?: number;
  log: (line: string) => void;
}

export class SoakPullJob {
  readonly poller: EmulatorPullPoller;
  pauses = 0;
  private next = 0;
  private running = false;
  private pausing: Promise<void> = Promise.resolve();

  constructor(private readonly o: SoakPullJobOptions) {
    this.poller = new EmulatorPullPoller(o.onec, {
      connectorUrl: () => this.url(),
      apiToken: o.apiToken,
      pageSize: 50,
      waitS: 2,
      errorPauseMs: 100,
      crashBeforeAck: () => o.prng.chance(o.crashChance ?? 0.1),
    });
  }

  /** A running instance, in turn (a 1C job behind a load balancer). */
  private url(): string | null {
    const up = this.o.instances.filter((i) => i.running && i.url);
    if (up.length === 0) return null;
    return up[this.next++ % up.length].url;
  }

  start(): void {
    this.running = true;
    this.poller.start();
    this.pausing = this.pauseNowAndThen();
  }

  private async pauseNowAndThen(): Promise<void> {
    while (this.running) {
      await sleep(this.o.prng.int(8_000, 20_000));
      if (!this.running) break;
      const ms = this.o.prng.int(1_000, 5_000);
      this.pauses++;
      this.o.log(`fault: the 1C job pauses for ${(ms / 1000).toFixed(1)} s`);
      await this.poller.stop();
      await sleep(ms);
      if (this.running) this.poller.start();
    }
  }

  /** Stops the pauses (the job keeps polling until stop()). */
  async calm(): Promise<void> {
    this.running = false;
    await this.pausing;
    this.poller.start();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.pausing;
    await this.poller.stop();
  }
}
