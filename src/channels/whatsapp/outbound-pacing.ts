/**
 * Per-account pacing of sends: at least `perChatMs` between two messages to one chat and
 * `perAccountMs` between two messages of one account, each plus a random 0..jitterMs, so
 * the number does not look like a bot firing bursts. Slots are reserved synchronously, so
 * concurrent sends queue up in call order.
 */
export interface PacingOptions {
  /** Minimum interval between two sends to the same chat (default 1000 ms). */
  perChatMs?: number;
  /** Minimum interval between two sends of the same account (default 250 ms). */
  perAccountMs?: number;
  /** Random extra delay added to each interval, 0..jitterMs (default 400 ms). */
  jitterMs?: number;
  random?: () => number;
  now?: () => number;
}

export class Pacer {
  private readonly nextChat = new Map<string, number>();
  private readonly nextAccount = new Map<string, number>();

  constructor(private readonly o: PacingOptions = {}) {}

  /** Reserves the next slot for `chatKey` of `account`; returns the delay until it (ms). */
  reserve(account: string, chatKey: string): number {
    const now = this.o.now?.() ?? Date.now();
    const rnd = this.o.random ?? Math.random;
    const jitter = (): number => Math.round(rnd() * (this.o.jitterMs ?? 400));
    const slot = Math.max(now, this.nextChat.get(chatKey) ?? 0, this.nextAccount.get(account) ?? 0);
    this.nextChat.set(chatKey, slot + (this.o.perChatMs ?? 1000) + jitter());
    this.nextAccount.set(account, slot + (this.o.perAccountMs ?? 250) + jitter());
    this.prune(now);
    return slot - now;
  }

  async wait(account: string, chatKey: string): Promise<void> {
    const ms = this.reserve(account, chatKey);
    if (ms > 0) await new Promise((r) => setTimeout(r, ms));
  }

  private prune(now: number): void {
    if (this.nextChat.size < 10_000) return;
    for (const [k, t] of this.nextChat) if (t < now) this.nextChat.delete(k);
  }
}
