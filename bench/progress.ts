/**
 * Progress of `npm run bench` on stderr (stdout carries only the final JSON): which part
 * runs, what it is doing, and a heartbeat line every few seconds while a step is silent.
 */
import { loadavg } from 'node:os';

export class Progress {
  private readonly t0 = performance.now();
  private part = '';
  private step = '';
  private stepAt = performance.now();
  private lastLine = performance.now();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly heartbeatMs = 5_000,
    private readonly write: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
  ) {
    this.timer = setInterval(() => {
      if (this.step && performance.now() - this.lastLine >= this.heartbeatMs)
        this.line(`… still ${this.step} (${Math.round((performance.now() - this.stepAt) / 1000)} s)`);
    }, 1000);
    this.timer.unref();
  }

  private line(text: string): void {
    const s = ((performance.now() - this.t0) / 1000).toFixed(0).padStart(4);
    const load = loadavg()[0].toFixed(1);
    this.write(`[bench ${s} s, load ${load}] ${this.part ? `${this.part}: ` : ''}${text}`);
    this.lastLine = performance.now();
  }

  /** A part begins (inbound, latency, pull, outbound, logins). */
  begin(part: string, what: string): void {
    this.part = part;
    this.start(what);
  }

  /** A step of the current part begins. */
  start(step: string): void {
    this.step = step;
    this.stepAt = performance.now();
    this.line(step);
  }

  /** A line from inside a step (counts, rates). */
  say(text: string): void {
    this.line(text);
  }

  /** The current step ended with this result. */
  done(text: string): void {
    this.line(`${this.step} → ${text}`);
    this.step = '';
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
