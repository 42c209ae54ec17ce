/**
 * Outbound throughput (issue "Outbound"): many chats × a few messages each, posted to the
 * real API of a real connector, sent by real grammY to the emulated Bot API with its
 * limits ON (1/s per chat, 20/min per group, 30/s per bot, answered with 429 like Telegram).
 * Reports the bot's aggregate rate (should approach 30/s), the highest rate any one chat
 * saw in a 1-second window (must be ≤ 1) and the 429s the emulator had to issue.
 */
import { createConnector } from '../src/connector.ts';
import { startLocalStack } from '../src/infra/local-stack.ts';
import { createLogger } from '../src/infra/logger.ts';
import { outboundFeature } from '../src/outbound/outbound-feature.ts';
import type { PacingOptions } from '../src/outbound/outbound-pacing.ts';
import { cleanup } from './inbound-bench.ts';

export interface OutboundBenchOptions {
  /** Chats (default 100). */
  chats?: number;
  /** Messages per chat (default 5). */
  perChat?: number;
  /** Pacing overrides (default: the product's defaults). */
  pacing?: PacingOptions;
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
  const nChats = opts.chats ?? 100;
  const perChat = opts.perChat ?? 5;
  const stack = await startLocalStack({ bots: [{ username: 'bench_out_bot' }], env: { LOG_LEVEL: 'silent', ONEC_MAX_SESSIONS: '2' } });
  const connector = await createConnector(stack.config, {
    trustedKeysDir: stack.keysDir,
    logger: createLogger({ level: 'silent', format: 'json' }),
    features: [outboundFeature({ pacing: opts.pacing })],
  });
  try {
    await connector.start();
    const token = stack.bots[0].token;
    const chats = Array.from({ length: nChats }, (_, i) => stack.telegram.chat(token, { firstName: `Bench ${i}` }));
    for (const c of chats) c.text('hello');
    const keys = chats.map((c) => `tg:bench_out_bot:${c.id}`);
    await waitFor(
      async () => (await Promise.all(keys.map((k) => connector.ctx.inbound.chatType(k)))).every((t) => t !== null),
      60_000,
      'chats known',
    );

    stack.telegram.setLimits({ enabled: true });
    const limited0 = stack.telegram.stats(token).rateLimitedIssued;
    const url = connector.url as string;
    const headers = { authorization: `Bearer ${stack.env.API_TOKEN}`, 'content-type': 'application/json' };
    const t0 = performance.now();
    // Round-robin over chats, as 1C would post a busy hour's replies.
    for (let i = 1; i <= perChat; i++) {
      await Promise.all(
        keys.map(async (chatId, c) => {
          const res = await fetch(`${url}/api/v1/messages`, {
            method: 'POST',
            headers,
            body: JSON.stringify({ id: `bench-${c}-${i}`, chatId, text: `reply ${i} to chat ${c}` }),
          });
          if (res.status !== 202) throw new Error(`bench: POST answered ${res.status}`);
        }),
      );
    }
    const acceptMs = performance.now() - t0;
    const total = nChats * perChat;
    await waitFor(() => stack.telegram.sent(token).length >= total, 600_000, 'all messages sent');
    const sent = stack.telegram.sent(token);
    const times = sent.map((s) => s.at).sort((a, b) => a - b);
    const spanS = (times[times.length - 1] - times[0]) / 1000;
    // The steady state, without the ramp (posts still arriving) and the tail (few chats left).
    const lo = Math.floor(times.length * 0.1);
    const hi = Math.floor(times.length * 0.9);
    const steady = (hi - lo) / ((times[hi] - times[lo]) / 1000);
    let maxPerChat = 0;
    let minGap = Number.POSITIVE_INFINITY;
    for (const c of chats) {
      const t = sent
        .filter((s) => s.chatId === c.id)
        .map((s) => s.at)
        .sort((a, b) => a - b);
      maxPerChat = Math.max(maxPerChat, maxInWindow(t, 1000));
      for (let i = 1; i < t.length; i++) minGap = Math.min(minGap, t[i] - t[i - 1]);
    }
    const inOrder = chats.every((c, ci) =>
      sent
        .filter((s) => s.chatId === c.id)
        .map((s) => s.text)
        .every((text, i) => text === `reply ${i + 1} to chat ${ci}`),
    );
    return {
      chats: nChats,
      messages: total,
      accept_per_s: Math.round(total / (acceptMs / 1000)),
      bot_msgs_per_s: Number(((total - 1) / spanS).toFixed(2)),
      bot_steady_msgs_per_s: Number(steady.toFixed(2)),
      bot_max_in_any_1s: maxInWindow(times, 1000),
      chat_max_in_any_1s: maxPerChat,
      chat_min_gap_ms: minGap,
      telegram_429s: stack.telegram.stats(token).rateLimitedIssued - limited0,
      duplicates_sent: sent.length - total,
      all_in_order: inOrder ? 1 : 0,
      seconds: Number(spanS.toFixed(2)),
    };
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
