/**
 * Simulated 1C operators answering customers: `POST /api/v1/messages` to either instance,
 * ids unique, one message at a time per chat (the next only after the previous was
 * accepted), only to private Telegram chats 1C already has a message from. A request that
 * gets no answer (an instance killed, Redis restarting) is repeated with the same id and
 * body, to the other instance: idempotency by id makes that safe.
 */
import type { ChatTrack } from './customers.ts';
import { call, errorCode } from './http-client.ts';
import { sleep, type Prng } from './prng.ts';

export interface ReplyTrack {
  chat: ChatTrack;
  /** Texts submitted to this chat, in order (including the one in flight). */
  submitted: string[];
  ids: string[];
  busy: boolean;
  /** Checker state over the Bot API's sent list. */
  checked: number;
  collapsed: number;
  lastText: string | null;
  lastAt: number;
  /** Auto-replies the bot sent to this chat (repeats at a kill edge aside), and when. */
  autoSent: number;
  autoAt: number;
}

export interface ReplyStats {
  submitted: number;
  accepted202: number;
  repeated200: number;
  retries: number;
  byError: Record<string, number>;
}

export interface RepliesOptions {
  instances: () => string[];
  apiToken: string;
  prng: Prng;
  /** Replies per second on average. */
  rate: number;
  /** Is this chat known to 1C (its first message stored)? */
  known(chat: ChatTrack): boolean;
  operatorIds: string[];
  onFatal(message: string): void;
}

export class Replies {
  readonly tracks: ReplyTrack[];
  readonly stats: ReplyStats = { submitted: 0, accepted202: 0, repeated200: 0, retries: 0, byError: {} };
  private running = false;
  private loop: Promise<void> | null = null;
  private inflight = new Set<Promise<void>>();

  constructor(
    chats: ChatTrack[],
    private readonly o: RepliesOptions,
  ) {
    this.tracks = chats
      .filter((c) => c.tg?.private)
      .map((chat) => ({
        chat,
        submitted: [],
        ids: [],
        busy: false,
        checked: 0,
        collapsed: 0,
        lastText: null,
        lastAt: 0,
        autoSent: 0,
        autoAt: 0,
      }));
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  /** Stops new replies; resolves once every reply in flight was accepted. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await Promise.all([...this.inflight]);
  }

  private async run(): Promise<void> {
    const p = this.o.prng;
    let carry = 0;
    while (this.running) {
      carry += this.o.rate / 10;
      while (carry >= 1) {
        carry -= 1;
        const free = this.tracks.filter((t) => !t.busy && this.o.known(t.chat));
        if (free.length) this.submit(p.pick(free));
      }
      await sleep(100);
    }
  }

  private submit(t: ReplyTrack): void {
    const p = this.o.prng;
    const n = t.submitted.length + 1;
    const text = `Ответ оператора [out c${t.chat.index} #${n}]`;
    const id = `soak-out-${t.chat.index}-${n}`;
    const body: Record<string, unknown> = { id, chatId: t.chat.key, text };
    if (p.chance(0.3)) body.operatorId = p.pick(this.o.operatorIds);
    t.busy = true;
    t.submitted.push(text);
    t.ids.push(id);
    this.stats.submitted += 1;
    const job = this.post(body).finally(() => {
      t.busy = false;
      this.inflight.delete(job);
    });
    this.inflight.add(job);
  }

  private async post(body: Record<string, unknown>): Promise<void> {
    const p = this.o.prng;
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      const urls = this.o.instances();
      const url = urls[(attempt + p.int(0, urls.length - 1)) % urls.length];
      const a = await call(url, 'POST', '/api/v1/messages', this.o.apiToken, body);
      if (a.kind === 'answer' && a.status === 202) {
        this.stats.accepted202 += 1;
        return;
      }
      if (a.kind === 'answer' && a.status === 200) {
        this.stats.repeated200 += 1;
        return;
      }
      const code = errorCode(a);
      this.stats.byError[code] = (this.stats.byError[code] ?? 0) + 1;
      if (a.kind === 'answer' && a.status >= 400 && a.status < 500 && a.status !== 429) {
        this.o.onFatal(
          `POST /api/v1/messages refused a valid message ${String(body.id)}: ${a.status} ${JSON.stringify(a.body).slice(0, 300)}`,
        );
        return;
      }
      if (Date.now() - started > 120_000) {
        this.o.onFatal(`POST /api/v1/messages for ${String(body.id)} got no acceptance within 120 s (last: ${code})`);
        return;
      }
      this.stats.retries += 1;
      await sleep(Math.min(2000, 200 * 2 ** Math.min(attempt, 4)));
    }
  }
}
