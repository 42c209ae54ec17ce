/**
 * Outbound throughput (issue "Outbound"; issue 19 item 5: it scales with bots): `bots` bots
 * × `chats` chats each × `perChat` messages, posted to the real API of a real connector,
 * sent by real grammY to the emulated Bot API with its limits ON (1/s per chat, 20/min per
 * group, 30/s per bot, answered with 429 like Telegram). Reports each bot's steady rate
 * (should approach 30/s; the slowest bot and the total), the highest rate any one chat
 * saw in a 1-second window (must be ≤ 1), the 429s the emulator had to issue, and order.
 */
import { createConnector } from '../src/connector.ts';
import { startLocalStack } from '../src/infra/local-stack.ts';
import { createLogger } from '../src/infra/logger.ts';
import { outboundFeature } from '../src/outbound/outbound-feature.ts';
import type { PacingOptions } from '../src/outbound/outbound-pacing.ts';
import { cleanup } from './inbound-bench.ts';

export interface OutboundBenchOptions {
  /** Bots (default 1). */
  bots?: number;
  /** Chats per bot (default 100). */
  chats?: number;
  /** Messages per chat (default 5). */
  perChat?: number;
  /** Pacing overrides (default: the product's defaults). */
  pacing?: PacingOptions;
  /** A line every few seconds while sending. */
  progress?: (line: string) => void;
}

/** Messages per second between the 10th and the 90th percentile of send times (no ramp, no tail). */
function steadyRate(times: number[]): number {
  if (times.length < 10) return Number.NaN;
  const lo = Math.floor(times.length * 0.1);
  const hi = Math.floor(times.length * 0.9);
  return (hi - lo) / ((times[hi] - times[lo]) / 1000);
}

/** Most events of `times` (ms, sorted) inside any window of `windowMs`. */
function maxInWindow(times: number[], windowMs: number): number {
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < times.length; hi++) {
    while (times[hi] - times[lo] >= windowMs) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

async function waitFor(probe: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function benchOutbound(opts: OutboundBenchOptions = {}): Promise<Record<string, number>> {
  const nBots = opts.bots ?? 1;
  const nChats = opts.chats ?? 100;
  const perChat = opts.perChat ?? 5;
  const say = opts.progress ?? (() => undefined);
  const names = Array.from({ length: nBots }, (_, b) => `bench_out${b}_bot`);
  const stack = await startLocalStack({
    bots: names.map((username) => ({ username })),
    env: {
      LOG_LEVEL: 'silent',
      ONEC_MAX_SESSIONS: '2',
      ...(process.env.BENCH_OUTBOUND_CONCURRENCY ? { WORKER_CONCURRENCY: process.env.BENCH_OUTBOUND_CONCURRENCY } : {}),
    },
  });
  const connector = await createConnector(stack.config, {
    trustedKeysDir: stack.keysDir,
    logger: createLogger({ level: 'silent', format: 'json' }),
    features: [outboundFeature({ pacing: opts.pacing })],
  });
  try {
    await connector.start();
    const bots = stack.bots.map((bot) => {
      const chats = Array.from({ length: nChats }, (_, i) => stack.telegram.chat(bot.token, { firstName: `Bench ${i}` }));
      for (const c of chats) c.text('hello');
      return { bot, chats, keys: chats.map((c) => `tg:${bot.username}:${c.id}`) };
    });
    const allKeys = bots.flatMap((b) => b.keys);
    await waitFor(
      async () => (await Promise.all(allKeys.map((k) => connector.ctx.inbound.chatType(k)))).every((t) => t !== null),
      120_000,
      'chats known',
    );

    stack.telegram.setLimits({ enabled: true });
    const limited0 = bots.map((b) => stack.telegram.stats(b.bot.token).rateLimitedIssued);
    const url = connector.url as string;
    const headers = { authorization: `Bearer ${stack.env.API_TOKEN}`, 'content-type': 'application/json' };
    const total = nBots * nChats * perChat;
    const sentCount = () => bots.reduce((n, b) => n + stack.telegram.sent(b.bot.token).length, 0);
    const ticker = setInterval(() => say(`${sentCount()} of ${total} sent`), 3000);
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    try {
      // Round-robin over every bot's chats, as 1C would post a busy hour's replies.
      for (let i = 1; i <= perChat; i++) {
        await Promise.all(
          allKeys.map(async (chatId, c) => {
            const res = await fetch(`${url}/api/v1/messages`, {
              method: 'POST',
              headers,
              body: JSON.stringify({ id: `bench-${c}-${i}`, chatId, text: `reply ${i} to chat ${c % nChats}` }),
            });
            if (res.status !== 202) throw new Error(`bench: POST answered ${res.status}`);
          }),
        );
      }
      const acceptMs = performance.now() - t0;
      await waitFor(() => sentCount() >= total, 900_000, 'all messages sent');
      // This process is the connector AND both emulators (Bot API, 1C): its CPU per message is
      // the cost of the whole loop, and on one core its ceiling.
      const cpu = process.cpuUsage(cpu0);
      const wallMs = performance.now() - t0;
      const perBot = bots.map((b, bi) => {
        const sent = stack.telegram.sent(b.bot.token);
        const times = sent.map((s) => s.at).sort((x, y) => x - y);
        let maxPerChat = 0;
        let minGap = Number.POSITIVE_INFINITY;
        let inOrder = true;
        for (const [ci, c] of b.chats.entries()) {
          const mine = sent.filter((s) => s.chatId === c.id).sort((x, y) => x.at - y.at);
          const t = mine.map((s) => s.at);
          maxPerChat = Math.max(maxPerChat, maxInWindow(t, 1000));
          for (let i = 1; i < t.length; i++) minGap = Math.min(minGap, t[i] - t[i - 1]);
          if (!mine.every((s, i) => s.text === `reply ${i + 1} to chat ${ci}`)) inOrder = false;
        }
        return {
          times,
          sent: sent.length,
          steady: steadyRate(times),
          maxInAny1s: maxInWindow(times, 1000),
          maxPerChat,
          minGap,
          inOrder,
          limited: stack.telegram.stats(b.bot.token).rateLimitedIssued - limited0[bi],
        };
      });
      const all = perBot.flatMap((b) => b.times).sort((x, y) => x - y);
      const spanS = (all[all.length - 1] - all[0]) / 1000;
      const steadies = perBot.map((b) => b.steady);
      return {
        bots: nBots,
        chats: nBots * nChats,
        messages: total,
        accept_per_s: Math.round(total / (acceptMs / 1000)),
        total_msgs_per_s: Number(((total - 1) / spanS).toFixed(2)),
        total_steady_msgs_per_s: Number(steadyRate(all).toFixed(2)),
        bot_steady_msgs_per_s_min: Number(Math.min(...steadies).toFixed(2)),
        bot_steady_msgs_per_s_max: Number(Math.max(...steadies).toFixed(2)),
        bot_max_in_any_1s: Math.max(...perBot.map((b) => b.maxInAny1s)),
        chat_max_in_any_1s: Math.max(...perBot.map((b) => b.maxPerChat)),
        chat_min_gap_ms: Math.min(...perBot.map((b) => b.minGap)),
        telegram_429s: perBot.reduce((n, b) => n + b.limited, 0),
        duplicates_sent: perBot.reduce((n, b) => n + b.sent, 0) - total,
        all_in_order: perBot.every((b) => b.inOrder) ? 1 : 0,
        seconds: Number(spanS.toFixed(2)),
        cpu_ms_per_msg: Number(((cpu.user + cpu.system) / 1000 / total).toFixed(2)),
        cpu_share_of_one_core: Number(((cpu.user + cpu.system) / 1000 / wallMs).toFixed(2)),
      };
    } finally {
      clearInterval(ticker);
    }
  } finally {
    await connector.stop().catch(() => undefined);
    await cleanup(stack.config.queuePrefix);
    await stack.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  benchOutbound().then(
    (r) => {
      console.log(JSON.stringify(r, null, 2));
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
