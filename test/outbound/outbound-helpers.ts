/**
 * An end-to-end outbound setup: the real connector (real grammY against the emulated Bot
 * API, the 1C emulator, real Redis) with the outbound feature, a fast retry policy and fast
 * pacing (the emulator's own limits are off unless a test turns them on).
 */
import type { FeatureModule } from '../../src/features/feature-contract.ts';
import type { ConnectorOptions } from '../../src/connector.ts';
import type { SentRecord, SimulatedChat } from '../../src/emulators/telegram/index.ts';
import { outboundFeature, type OutboundFeatureOptions } from '../../src/outbound/outbound-feature.ts';
import type { OutboundService } from '../../src/outbound/outbound-service.ts';
import { RetryPolicy } from '../../src/lanes/retry-policy.js';
import { startTestStack, type OnecMode, type TestStack } from '../helpers/stack.ts';
import { until } from '../helpers/redis.ts';

export const BOT = 'shop_bot';
export const FAST_PACING = { telegramChatIntervalMs: 20, telegramGroupIntervalMs: 20, telegramBotIntervalMs: 1 };

export interface OutboundHarness extends TestStack {
  service: OutboundService;
  token: string;
  url: string;
  api(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    opts?: { auth?: boolean },
  ): Promise<{ status: number; json: Record<string, unknown> }>;
  /** A private chat whose customer wrote once, known to the connector. */
  customer(name: string): Promise<{ chat: SimulatedChat; key: string }>;
  sentTo(chat: SimulatedChat): SentRecord[];
  /** Waits until the message's status is one of `statuses` (GET) and returns the view. */
  statusOf(id: string, statuses: string[]): Promise<Record<string, unknown>>;
  /** Status names 1C stored for an outbound id, in arrival order. */
  onecStatuses(id: string): string[];
}

export async function startOutbound(
  o: {
    feature?: OutboundFeatureOptions;
    connector?: ConnectorOptions;
    env?: Record<string, string>;
    mode?: OnecMode;
    /** Features beside outbound (e.g. settings, whose policy decides writing first). */
    alsoFeatures?: FeatureModule[];
  } = {},
): Promise<OutboundHarness> {
  let service: OutboundService | null = null;
  const ts = await startTestStack({
    bots: [{ username: BOT }],
    env: o.env,
    mode: o.mode,
    connector: {
      retryPolicy: new RetryPolicy({ baseMs: 20, capMs: 300 }),
      ...o.connector,
      features: [
        outboundFeature({
          retryPolicy: new RetryPolicy({ baseMs: 20, capMs: 300 }),
          pacing: FAST_PACING,
          onService: (s) => {
            service = s;
          },
          ...o.feature,
        }),
        ...(o.alsoFeatures ?? []),
      ],
    },
  });
  if (!service) throw new Error('the outbound feature was not built');
  const token = ts.stack.bots[0].token;
  const url = ts.connector.url as string;
  const apiToken = ts.stack.env.API_TOKEN;
  const h: OutboundHarness = {
    ...ts,
    service,
    token,
    url,
    async api(method, path, body, opts = {}) {
      const headers: Record<string, string> = {};
      if (opts.auth !== false) headers.authorization = `Bearer ${apiToken}`;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    },
    async customer(name) {
      const chat = ts.stack.telegram.chat(token, { firstName: name });
      chat.text(`hello from ${name}`);
      const key = `tg:${BOT}:${chat.id}`;
      await until(async () => (await ts.connector.ctx.inbound.chatType(key)) !== null, { what: `chat ${key} known` });
      return { chat, key };
    },
    sentTo(chat) {
      return ts.stack.telegram.sent(token, chat.id);
    },
    async statusOf(id, statuses) {
      return until(
        async () => {
          const r = await h.api('GET', `/api/v1/messages/${encodeURIComponent(id)}`);
          return r.status === 200 && statuses.includes(String(r.json.status)) ? r.json : null;
        },
        { what: `message ${id} in ${statuses.join('/')}` },
      );
    },
    onecStatuses(id) {
      return ts.stack.onec.state().statuses.byId[id] ?? [];
    },
  };
  return h;
}
