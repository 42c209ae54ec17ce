/**
 * The invariants, checked while the soak runs (each check only looks at what is new since
 * the last one) and at the end. A broken invariant calls `fail` with what broke.
 */
import type { OnecEmulator, OnecEmulatorState } from '../src/onec/emulator/index.ts';
import type { TelegramEmulator } from '../src/emulators/telegram/index.ts';
import { MARKER, type ChatTrack } from './customers.ts';
import type { ConnectorInstance } from './instances.ts';
import type { Operators } from './operators.ts';
import type { ReplyTrack } from './replies.ts';
import { autoReplyOf, RR_MEMBERS } from './settings.ts';

export interface CheckFigures {
  inbound: {
    sent: number;
    expectedStored: number;
    stored: number;
    storedInOrder: number;
    duplicateStores: number;
    duplicateAnswers: number;
    rejectedExpected: number;
    rejectedIn1c: number;
    chats: number;
  };
  outbound: {
    submitted: number;
    delivered: number;
    repeats: number;
    repeatsAfterKill9: number;
    repeatsAfterRedisRestart: number;
    chats: number;
    /** Auto-replies (greeting, out of hours): expected at the end, sent by the bots, stored by 1C as `system` messages. */
    autoRepliesExpected: number;
    autoRepliesSent: number;
    autoRepliesIn1c: number;
    autoRepliesRepeats: number;
  };
  routing: { events: number; roundRobinAssignments: number; byOperator: Record<string, number> };
  sessions: { samples: number; peakOpen: number; peakBound: number; maxOverMaxSessions: number; emulatorPeakOpen: number; openNow: number };
  memory: Record<string, { peakRssMb: number; lastRssMb: number }>;
}

export interface ChecksOptions {
  onec: OnecEmulator;
  telegram: TelegramEmulator;
  chats: ChatTrack[];
  replies: ReplyTrack[];
  operators: Operators;
  instances: ConnectorInstance[];
  maxSessions: number;
  rssLimitMb: number;
  /** When an instance was killed with SIGKILL, and when Redis went down (ms since epoch). */
  kill9Times(): number[];
  /** Redis outages: [went down, answered again] (ms since epoch); the end is Infinity while down. */
  redisOutages(): Array<[number, number]>;
  /** Start of the run (ms since epoch), to print times relative to it. */
  t0: number;
  fail(message: string): void;
}

/** How long after Telegram accepted a message a crash can still keep `sent` from being recorded. */
const REPEAT_WINDOW_MS = 10_000;
/** After Redis answers again, how long until every client has reconnected (ioredis backs off up to 5 s). */
const RECONNECT_SLACK_MS = 6_000;

export class Checks {
  readonly figures: CheckFigures;
  private readonly routingVersion = new Map<string, number>();

  constructor(private readonly o: ChecksOptions) {
    this.figures = {
      inbound: {
        sent: 0,
        expectedStored: 0,
        stored: 0,
        storedInOrder: 0,
        duplicateStores: 0,
        duplicateAnswers: 0,
        rejectedExpected: 0,
        rejectedIn1c: 0,
        chats: o.chats.length,
      },
      outbound: {
        submitted: 0,
        delivered: 0,
        repeats: 0,
        repeatsAfterKill9: 0,
        repeatsAfterRedisRestart: 0,
        chats: o.replies.length,
        autoRepliesExpected: 0,
        autoRepliesSent: 0,
        autoRepliesIn1c: 0,
        autoRepliesRepeats: 0,
      },
      routing: { events: 0, roundRobinAssignments: 0, byOperator: {} },
      sessions: { samples: 0, peakOpen: 0, peakBound: 0, maxOverMaxSessions: 0, emulatorPeakOpen: 0, openNow: 0 },
      memory: {},
    };
  }

  /** Every message 1C stored is the next one its chat expects: once, in `seq` order, nothing unknown. */
  checkInbound(st: OnecEmulatorState = this.o.onec.state()): void {
    const f = this.figures.inbound;
    let stored = 0;
    let expected = 0;
    for (const c of this.o.chats) {
      const refs = st.messages.byChat[c.key] ?? [];
      expected += c.expected.length;
      stored += refs.length;
      for (; c.checked < refs.length; c.checked++) {
        const ref = refs[c.checked];
        const body = this.o.onec.storedMessage(ref.id);
        const text = body?.text;
        if (body?.outgoing === true && (body.sender as { id?: unknown } | undefined)?.id === 'system') {
          // An auto-reply, shown to 1C in the chat: the one this chat may get, once, after a customer's message.
          const auto = autoReplyOf(c);
          if (!auto || ref.id !== auto.id || text !== auto.text)
            return this.o.fail(`auto-replies: 1C stored ${ref.id} (${JSON.stringify(text)}) in ${c.key}, which gets no such reply`);
          if (c.autos.includes(ref.id)) return this.o.fail(`auto-replies: 1C stored ${ref.id} twice`);
          if (c.checked === c.autos.length) return this.o.fail(`auto-replies: ${ref.id} reached 1C before any message of ${c.key}`);
          if (ref.seq === null || ref.seq <= c.lastSeq)
            return this.o.fail(`auto-replies: ${ref.id} has seq ${String(ref.seq)} after seq ${c.lastSeq} in ${c.key}`);
          c.lastSeq = ref.seq;
          c.autos.push(ref.id);
          continue;
        }
        if (ref.seq === 1) c.firstStored = true;
        if (!['edit', 'delete', 'reaction'].includes(String(body?.kind))) c.writingStored = true;
        const marker = typeof text === 'string' ? MARKER.exec(text)?.[1] : undefined;
        const want = c.expected[c.checked - c.autos.length];
        if (marker === undefined)
          return this.o.fail(`inbound: 1C stored ${ref.id} in ${c.key}, which no customer sent (text ${JSON.stringify(text)})`);
        if (marker !== want) {
          const at = c.checked - c.autos.length;
          const earlier = c.expected.indexOf(marker);
          const what =
            earlier >= 0 && earlier < at
              ? 'a second time (duplicate store)'
              : earlier > at
                ? `out of order (expected ${want} first)`
                : 'unexpectedly';
          if (earlier >= 0 && earlier < at) f.duplicateStores += 1;
          return this.o.fail(`inbound: 1C stored [${marker}] of ${c.key} ${what} at position ${c.checked + 1}`);
        }
        if (ref.seq === null || ref.seq <= c.lastSeq)
          return this.o.fail(`inbound: ${ref.id} has seq ${String(ref.seq)} after seq ${c.lastSeq} in ${c.key}`);
        c.lastSeq = ref.seq;
      }
    }
    f.sent = this.o.chats.reduce((s, c) => s + c.expected.length + c.rejectIds.length, 0);
    f.expectedStored = expected;
    f.stored = stored;
    f.storedInOrder = this.o.chats.reduce((s, c) => s + c.checked - c.autos.length, 0);
    this.figures.outbound.autoRepliesIn1c = this.o.chats.reduce((s, c) => s + c.autos.length, 0);
    this.checkRouting(st);
    f.duplicateAnswers = st.messages.duplicates.count;
    f.rejectedExpected = this.o.chats.reduce((s, c) => s + c.rejectIds.length, 0);
    const want = new Set(this.o.chats.flatMap((c) => c.rejectIds));
    const got = new Set(st.messages.rejected.map((r) => r.id));
    for (const id of got) if (!want.has(id)) return this.o.fail(`inbound: 1C rejected ${id}, which was not meant to be rejected`);
    f.rejectedIn1c = got.size;
  }

  /** Auto-replies a chat must have got by the end: the greeting when 1C has its first message, the closed reply when it has any. */
  private autoExpected(c: ChatTrack): string | null {
    const auto = autoReplyOf(c);
    if (!auto) return null;
    return (auto.firstOnly ? c.firstStored : c.writingStored) ? auto.id : null;
  }

  /** Every auto-reply due is in 1C once and was sent once (repeats only at a kill -9 / Redis edge, as for replies). */
  autoRepliesComplete(): boolean {
    const f = this.figures.outbound;
    f.autoRepliesExpected = this.o.chats.filter((c) => this.autoExpected(c)).length;
    const inOnec = this.o.chats.every((c) => {
      const want = this.autoExpected(c);
      return want ? c.autos.length === 1 && c.autos[0] === want : c.autos.length === 0 || c.autos[0] === autoReplyOf(c)?.id;
    });
    const sent = this.o.replies.every((t) => {
      const want = this.autoExpected(t.chat);
      return want ? t.autoSent === 1 : true;
    });
    return inOnec && sent;
  }

  /** Routing events reach 1C once, in version order per chat; round robin assigns only operators of the group. */
  private checkRouting(st: OnecEmulatorState): void {
    const r = this.figures.routing;
    const events = st.routing.events;
    for (; r.events < events.length; r.events++) {
      const e = events[r.events];
      const version = Number(/:routing:(\d+)$/.exec(e.id)?.[1]);
      const last = this.routingVersion.get(e.chatId) ?? 0;
      if (!(version > last)) return this.o.fail(`routing: ${e.id} reached 1C after version ${last} of ${e.chatId}`);
      this.routingVersion.set(e.chatId, version);
      if (e.actor === 'system' && e.type === 'assigned' && e.operatorId) {
        if (!RR_MEMBERS.has(e.operatorId))
          return this.o.fail(`routing: round robin assigned ${e.chatId} to ${e.operatorId}, who is not in the group`);
        r.roundRobinAssignments += 1;
        r.byOperator[e.operatorId] = (r.byOperator[e.operatorId] ?? 0) + 1;
      }
    }
  }

  inboundComplete(): boolean {
    const st = this.o.onec.state();
    this.checkInbound(st);
    const rejected = new Set(st.messages.rejected.map((r) => r.id));
    return this.o.chats.every((c) => c.checked - c.autos.length === c.expected.length && c.rejectIds.every((id) => rejected.has(id)));
  }

  /** What the bot sent to each chat is, repeats of the kill edge aside, a prefix of what was submitted, in order. */
  checkOutbound(): void {
    const f = this.figures.outbound;
    for (const t of this.o.replies) {
      const tg = t.chat.tg;
      if (!tg) continue;
      const sent = this.o.telegram.sent(tg.bot.token, tg.chat.id);
      for (; t.checked < sent.length; t.checked++) {
        const rec = sent[t.checked];
        const text = rec.text ?? rec.caption ?? '';
        const auto = autoReplyOf(t.chat);
        if (auto && text === auto.text) {
          if (t.autoSent > 0) {
            if (!this.repeatCause(t.autoAt)) return this.o.fail(`auto-replies: "${text}" was sent to ${t.chat.key} twice`);
            f.autoRepliesRepeats += 1;
            continue;
          }
          t.autoSent = 1;
          t.autoAt = rec.at;
          continue;
        }
        if (t.lastText !== null && text === t.lastText) {
          const cause = this.repeatCause(t.lastAt);
          if (!cause) {
            const rel = (ms: number) => `${((ms - this.o.t0) / 1000).toFixed(1)} s`;
            return this.o.fail(
              `outbound: "${text}" was sent to ${t.chat.key} twice (at ${rel(t.lastAt)} and ${rel(rec.at)}) and no kill -9 ` +
                `(${this.o.kill9Times().map(rel).join(', ') || 'none'}) or Redis outage (${
                  this.o
                    .redisOutages()
                    .map(([a, b]) => `${rel(a)}–${Number.isFinite(b) ? rel(b) : 'now'}`)
                    .join(', ') || 'none'
                }) explains it`,
            );
          }
          f.repeats += 1;
          if (cause === 'kill9') f.repeatsAfterKill9 += 1;
          else f.repeatsAfterRedisRestart += 1;
          continue;
        }
        const want = t.submitted[t.collapsed];
        if (text !== want)
          return this.o.fail(`outbound: ${t.chat.key} got "${text}" where "${String(want)}" was next (${t.collapsed} delivered before)`);
        t.collapsed += 1;
        t.lastText = text;
        t.lastAt = rec.at;
      }
    }
    f.submitted = this.o.replies.reduce((s, t) => s + t.submitted.length, 0);
    f.delivered = this.o.replies.reduce((s, t) => s + t.collapsed, 0);
    f.autoRepliesSent = this.o.replies.reduce((s, t) => s + t.autoSent, 0);
  }

  outboundComplete(): boolean {
    this.checkOutbound();
    return this.o.replies.every((t) => t.collapsed === t.submitted.length);
  }

  private repeatCause(firstAt: number): 'kill9' | 'redis' | null {
    const near = (times: number[]) => times.some((k) => k >= firstAt - 500 && k <= firstAt + REPEAT_WINDOW_MS);
    if (near(this.o.kill9Times())) return 'kill9';
    // Telegram accepted it just before or while Redis was down: `sent` could not be recorded.
    if (this.o.redisOutages().some(([down, up]) => firstAt >= down - REPEAT_WINDOW_MS && firstAt <= up + RECONNECT_SLACK_MS))
      return 'redis';
    return null;
  }

  /** 1C sessions open now ≤ ONEC_MAX_SESSIONS + the operator logins that may hold one. */
  sampleSessions(st: OnecEmulatorState = this.o.onec.state()): void {
    const s = this.figures.sessions;
    const open = st.sessions.open;
    const bound = this.o.maxSessions + this.o.operators.loginsInFlight();
    s.samples += 1;
    s.openNow = open;
    s.peakOpen = Math.max(s.peakOpen, open);
    s.peakBound = Math.max(s.peakBound, bound);
    s.maxOverMaxSessions = Math.max(s.maxOverMaxSessions, open - this.o.maxSessions);
    s.emulatorPeakOpen = st.sessions.peakOpen;
    if (open > bound)
      this.o.fail(
        `sessions: 1C has ${open} sessions open, more than ONEC_MAX_SESSIONS (${this.o.maxSessions}) + ${bound - this.o.maxSessions} logins in flight`,
      );
  }

  sampleMemory(): void {
    for (const inst of this.o.instances) {
      const mb = inst.sampleRss();
      this.figures.memory[inst.name] = { peakRssMb: Math.round(inst.peakRssMb), lastRssMb: Math.round(inst.lastRssMb) };
      if (mb !== null && mb > this.o.rssLimitMb)
        this.o.fail(`memory: ${inst.name} uses ${Math.round(mb)} MB RSS, above the bound of ${this.o.rssLimitMb} MB`);
    }
  }
}
