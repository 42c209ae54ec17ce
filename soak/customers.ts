/**
 * Simulated customers: private chats and a group on each bot of the emulated Bot API, and
 * WhatsApp chats whose messages are built as Baileys `proto.WebMessageInfo` objects,
 * normalized by the channel's own normalizer and ingested through the same seam the
 * WhatsApp handler uses (`InboundSink.ingest`, retried until Redis holds them, sometimes
 * replayed as Baileys does on reconnect). Every message carries a marker `[soak cN #k]`
 * so the invariant checks can tell exactly which message 1C stored.
 */
import { randomBytes } from 'node:crypto';
import { proto, type WAMessage } from '@whiskeysockets/baileys';
import { normalizeWaMessage } from '../src/channels/whatsapp/inbound-normalize.ts';
import type { InboundSink } from '../src/core/index.ts';
import type { SimulatedChat, TelegramEmulator } from '../src/emulators/telegram/index.ts';
import type { LocalBot } from '../src/infra/local-stack.ts';
import { sleep, type Prng } from './prng.ts';

export const WA_ACCOUNT = 'soakwa';
export const MARKER = /\[soak (c\d+ #\d+)\]/;

export interface ChatTrack {
  index: number;
  key: string;
  channel: 'telegram' | 'whatsapp';
  /** Markers 1C must store, in this order (rejected ones excluded). */
  expected: string[];
  /** Message ids 1C must reject (`#reject-me`). */
  rejectIds: string[];
  tg?: { chat: SimulatedChat; bot: LocalBot; private: boolean; textIds: number[] };
  wa?: { jid: string; chain: Promise<void> };
  /** Checker state: how many of 1C's stored refs were verified, the last seq seen. */
  checked: number;
  lastSeq: number;
  /** Auto-replies 1C stored in this chat (ids, in order; counted in `checked` too). */
  autos: string[];
  /** Did 1C store a customer message of this chat with `seq` 1 / one that calls for a reply? */
  firstStored: boolean;
  writingStored: boolean;
}

export interface CustomerStats {
  sent: number;
  telegram: number;
  whatsapp: number;
  bursts: number;
  edits: number;
  photos: number;
  rejects: number;
  waReplays: number;
  waIngestRetries: number;
}

export interface CustomersOptions {
  telegram: TelegramEmulator;
  bots: LocalBot[];
  /** The WhatsApp channel's ingest seam. */
  sink: InboundSink;
  prng: Prng;
  /** Messages per second on average outside bursts. */
  rate: number;
  privateChatsPerBot: number;
  whatsappChats: number;
  /** Called when an ingest could not be done within its bound (the run fails). */
  onFatal(message: string): void;
}

export class Customers {
  readonly chats: ChatTrack[] = [];
  readonly stats: CustomerStats = {
    sent: 0,
    telegram: 0,
    whatsapp: 0,
    bursts: 0,
    edits: 0,
    photos: 0,
    rejects: 0,
    waReplays: 0,
    waIngestRetries: 0,
  };
  private running = false;
  private loop: Promise<void> | null = null;
  private counter = new Map<number, number>();

  constructor(private readonly o: CustomersOptions) {
    const names = ['Вера', 'Олег', 'Анна', 'Иван', 'Мария', 'Пётр', 'Зоя', 'Лев', 'Ян', 'Ева'];
    for (const bot of o.bots) {
      for (let i = 0; i < o.privateChatsPerBot; i++) {
        const chat = o.telegram.chat(bot.token, { firstName: `${o.prng.pick(names)} 🙂`, username: `soak_${bot.id % 1000}_${i}` });
        this.add('telegram', `tg:${bot.username}:${chat.id}`, { tg: { chat, bot, private: true, textIds: [] } });
      }
      const group = o.telegram.group(bot.token, { title: `Группа ${bot.username}`, members: [o.telegram.user({ firstName: 'Участник' })] });
      this.add('telegram', `tg:${bot.username}:${group.id}`, { tg: { chat: group, bot, private: false, textIds: [] } });
    }
    for (let i = 0; i < o.whatsappChats; i++) {
      const jid = `7999${String(1_000_000 + i * 7919).padStart(7, '0')}@s.whatsapp.net`;
      this.add('whatsapp', `wa:${WA_ACCOUNT}:${jid}`, { wa: { jid, chain: Promise.resolve() } });
    }
  }

  private add(channel: ChatTrack['channel'], key: string, extra: Pick<ChatTrack, 'tg' | 'wa'>): void {
    this.chats.push({
      index: this.chats.length,
      key,
      channel,
      expected: [],
      rejectIds: [],
      checked: 0,
      lastSeq: 0,
      autos: [],
      firstStored: false,
      writingStored: false,
      ...extra,
    });
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  /** Stops writing; resolves once every WhatsApp ingest in progress is done. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await Promise.all(this.chats.flatMap((c) => (c.wa ? [c.wa.chain] : [])));
  }

  private async run(): Promise<void> {
    const p = this.o.prng;
    let nextBurst = Date.now() + p.int(10_000, 30_000);
    let carry = 0;
    while (this.running) {
      carry += this.o.rate / 10;
      while (carry >= 1) {
        carry -= 1;
        this.one(p.pick(this.chats));
      }
      if (p.chance(carry)) {
        carry = 0;
        this.one(p.pick(this.chats));
      }
      if (Date.now() >= nextBurst) {
        // A burst: a few chats write many messages within a second.
        this.stats.bursts += 1;
        const burstChats = Array.from({ length: p.int(2, 5) }, () => p.pick(this.chats));
        const n = p.int(30, 90);
        for (let i = 0; i < n; i++) this.one(p.pick(burstChats));
        nextBurst = Date.now() + p.int(10_000, 40_000);
      }
      await sleep(100);
    }
  }

  private marker(c: ChatTrack): string {
    const n = (this.counter.get(c.index) ?? 0) + 1;
    this.counter.set(c.index, n);
    return `c${c.index} #${n}`;
  }

  /** One customer message in chat `c`. */
  one(c: ChatTrack): void {
    const p = this.o.prng;
    const m = this.marker(c);
    const reject = p.chance(0.01);
    const body = `${p.pick(['Здравствуйте', 'Где мой заказ?', 'Hello 👋', 'Счёт №', 'Спасибо!', 'ёлка и елка'])} [soak ${m}]${reject ? ' #reject-me' : ''}`;
    this.stats.sent += 1;
    if (reject) this.stats.rejects += 1;
    if (c.tg) {
      this.stats.telegram += 1;
      const t = c.tg;
      const r = p.next();
      let messageId: number;
      let id: string;
      if (!reject && r < 0.05 && t.textIds.length) {
        const target = p.pick(t.textIds);
        const sent = t.chat.edit(target, `${body} (исправлено)`, {
          editDate: Math.floor(Date.now() / 1000) + (this.counter.get(c.index) ?? 0),
        });
        id = `${c.key}:${target}:edit:${String(sent.message.edit_date)}`;
        this.stats.edits += 1;
      } else if (!reject && r < 0.1) {
        messageId = t.chat.photo({ caption: body, bytes: randomBytes(p.int(200, 2000)) }).messageId;
        id = `${c.key}:${messageId}`;
        this.stats.photos += 1;
      } else {
        messageId = t.chat.text(body).messageId;
        id = `${c.key}:${messageId}`;
        if (!reject) t.textIds.push(messageId);
      }
      if (reject) c.rejectIds.push(id);
      else c.expected.push(m);
      return;
    }
    if (c.wa) {
      this.stats.whatsapp += 1;
      const w = c.wa;
      const nativeId = `3EB0${randomBytes(8).toString('hex').toUpperCase()}`;
      const info = proto.WebMessageInfo.fromObject({
        key: { remoteJid: w.jid, fromMe: false, id: nativeId },
        message: p.chance(0.5) ? { conversation: body } : { extendedTextMessage: { text: body } },
        messageTimestamp: Math.floor(Date.now() / 1000),
        pushName: 'Клиент WA',
      }) as WAMessage;
      const out = normalizeWaMessage(info, {
        account: WA_ACCOUNT,
        chatKey: c.key,
        chatType: 'private',
        chatTitle: 'Клиент WA',
        sender: { id: `wa:${w.jid}`, name: 'Клиент WA', username: null, phone: `+${w.jid.split('@')[0]}` },
        media: [],
        mediaNote: null,
        receivedAt: new Date().toISOString(),
      });
      if (out.action !== 'ingest') {
        this.o.onFatal(`the WhatsApp normalizer did not ingest a plain text message: ${out.action} (${out.reason})`);
        return;
      }
      if (reject) c.rejectIds.push(out.message.id);
      else c.expected.push(m);
      const replay = p.chance(0.03);
      // Per chat in order: the next message is ingested only after this one is in Redis.
      w.chain = w.chain.then(async () => {
        await this.ingest([out.message]);
        if (replay) {
          this.stats.waReplays += 1;
          const again = await this.ingest([out.message]);
          if (!again) this.o.onFatal(`a replayed WhatsApp message ${out.message.id} was not recognized as a duplicate`);
        }
      });
    }
  }

  /** Ingests until Redis holds it (as the channel does: the messenger is not acknowledged before). Returns `duplicate`. */
  private async ingest(messages: Parameters<InboundSink['ingest']>[0]): Promise<boolean> {
    const deadline = Date.now() + 90_000;
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await withTimeout(this.o.sink.ingest(messages), 10_000);
        return r.every((x) => x.duplicate);
      } catch (err) {
        this.stats.waIngestRetries += 1;
        if (Date.now() > deadline) {
          this.o.onFatal(`WhatsApp ingest failed for 90 s: ${err instanceof Error ? err.message : String(err)}`);
          return false;
        }
        await sleep(Math.min(2000, 100 * 2 ** attempt));
      }
    }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, rej) => {
      t = setTimeout(() => rej(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}
