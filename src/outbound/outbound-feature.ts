/**
 * The outbound feature: `POST/GET /api/v1/messages`, the `outbound` lane (per chat, in
 * order, paced) and the `statuses` lane (per message, to 1C), and the status sink that
 * channel receipts flow into. Plugged in through `createConnector(config, { features:
 * [outboundFeature()] })`.
 *
 * - Routes are always contributed (the connector mounts them only with the `http` role).
 * - Workers run only with the `outbound` role, and only while feature 42 is granted: they
 *   start paused and follow `onLicense` (queued messages wait, nothing fails).
 * - Any role can append (the HTTP API) and report statuses (channels); both are plain Redis writes.
 */
import { bullConnectionFor } from '../redis/redis-connection.js';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  ConnectorError,
  isOutboundCapable,
  parseChatKey,
  supportsAccountDiscovery,
  type OutboundCapable,
  type OutboundMessage,
} from '../core/index.ts';
import { defineFeature, type ConnectorFeature, type FeatureModule } from '../features/feature-contract.ts';
import { messageRoutes, type MessageStatusView, type SubmitAnswer } from '../http/routes/message-routes.ts';
import type { RetryPolicy } from '../lanes/retry-policy.js';
import type { PacingOptions } from './outbound-pacing.ts';
import { OutboundService, type StatusNotice } from './outbound-service.ts';
import type { OutboundRecord } from './outbound-store.ts';

export interface OutboundFeatureOptions {
  /** Pacing (see outbound-pacing.ts for the defaults: Telegram 1/s per chat, 20/min per group, ≈ 28.6/s per bot). */
  pacing?: PacingOptions;
  /** Backoff of failed sends and 1C status deliveries (default: the lane's RetryPolicy defaults). */
  retryPolicy?: RetryPolicy;
  /** Lock of a chat while it is being sent to (default LANE_LOCK_MS). */
  lockMs?: number;
  /** How often forgotten chats are picked up again (default LANE_SWEEP_MS). */
  sweepIntervalMs?: number;
  /** Chats sent to in parallel per process (default WORKER_CONCURRENCY). */
  concurrency?: number;
  /** How long a message record (idempotency by id) is kept (default 30 days). */
  recordTtlS?: number;
  /** Longest text accepted (default 32 768 characters). */
  maxTextLength?: number;
  /** Largest decoded base64 media item (default 16 MiB). */
  maxMediaBytes?: number;
  /** Observes the service (tests, bench). */
  onService?(service: OutboundService): void;
}

export function viewOf(r: OutboundRecord): MessageStatusView {
  return {
    id: r.id,
    chatId: r.chatId,
    status: r.status,
    ...(r.status === 'failed' && r.error ? { error: r.error } : {}),
    ...(r.status === 'failed' && r.errorCode ? { errorCode: r.errorCode } : {}),
    ...(r.nativeIds.length ? { nativeIds: r.nativeIds } : {}),
    createdAt: r.createdAt,
    ...(r.sentAt ? { sentAt: r.sentAt } : {}),
    ...(r.deliveredAt ? { deliveredAt: r.deliveredAt } : {}),
    ...(r.readAt ? { readAt: r.readAt } : {}),
    ...(r.failedAt ? { failedAt: r.failedAt } : {}),
    updatedAt: r.updatedAt,
  };
}

const NEEDS = [
  'config',
  'logger',
  'redis',
  'roles',
  'bus',
  'channels',
  'inbound',
  'media',
  'onecPush',
  'pullLog',
  'setStatusSink',
  'operatorAccess',
  'mayWriteFirst',
] as const;

export function outboundFeature(opts: OutboundFeatureOptions = {}): FeatureModule<(typeof NEEDS)[number]> {
  return defineFeature(NEEDS, (ctx): ConnectorFeature => {
    const { config } = ctx;
    const workers = ctx.roles.has('outbound');
    const senders = new Map<string, OutboundCapable>();
    for (const c of ctx.channels) if (isOutboundCapable(c)) senders.set(c.channel, c);
    // A channel that learns its accounts' names from the network (Telegram's getMe) asks again.
    const discover = async (channel: string): Promise<boolean> => {
      const c = ctx.channels.find((x) => x.channel === channel);
      if (!c || !supportsAccountDiscovery(c)) return false;
      await c.discoverAccounts();
      return true;
    };
    const service = new OutboundService({
      redis: ctx.redis,
      bullConnection: bullConnectionFor(config.redis, ctx.redis),
      prefix: config.queuePrefix,
      shards: config.queueShards,
      senders,
      chatType: (k) => ctx.inbound.chatType(k),
      refreshAccounts: async (channel) => {
        await discover(channel);
      },
      deliverStatuses: (events) => ctx.onecPush.deliverStatuses(events),
      updateLog: ctx.pullLog,
      onStatus: (n: StatusNotice) => ctx.bus.emit('outbound.status', n),
      pacing: opts.pacing,
      retryPolicy: opts.retryPolicy,
      concurrency: opts.concurrency ?? config.workerConcurrency,
      statusBatchMax: Math.min(4, config.onec.batchMax),
      lockMs: opts.lockMs ?? config.laneLockMs,
      sweepIntervalMs: opts.sweepIntervalMs ?? config.laneSweepMs,
      recordTtlS: opts.recordTtlS,
      logger: ctx.logger,
    });
    ctx.setStatusSink(service);
    opts.onService?.(service);

    const checkChat = async (chatId: string): Promise<ConnectorError | null> => {
      const parts = parseChatKey(chatId);
      const sender = parts ? senders.get(parts.channel) : undefined;
      let known = !!(parts && sender?.hasAccount(parts.account));
      // A process that runs no bot learns the usernames on demand (getMe).
      if (!known && parts && (await discover(parts.channel))) known = !!sender?.hasAccount(parts.account);
      if (!parts || !known) {
        return new ConnectorError(
          'unknown_account',
          `No connected account "${parts?.account ?? chatId}" of ${parts?.channel ?? 'any channel'}.`,
          { httpStatus: 404 },
        );
      }
      // A chat that never wrote to this account: only where the account may write first (its
      // setting `mayWriteFirst`, else WHATSAPP_MAY_WRITE_FIRST). 404 as connector-api.md fixes
      // for an unknown chat, with a code of its own.
      if ((await ctx.inbound.chatType(chatId)) === null && !(await ctx.mayWriteFirst(parts.account))) {
        return new ConnectorError(
          'may_not_write_first',
          `Chat "${chatId}" has never written to account "${parts.account}", and this account may not write first (account setting mayWriteFirst).`,
          { httpStatus: 404 },
        );
      }
      return null;
    };

    const submit = async (message: OutboundMessage): Promise<SubmitAnswer> => {
      const res = await service.submit(message);
      if (res.created) {
        // Routing claims the chat for `operatorId` here (the routing feature listens).
        await ctx.bus.emit('outbound.accepted', { message });
        return { created: true };
      }
      return { created: false, conflict: res.conflict, view: viewOf(res.record) };
    };

    return {
      name: 'outbound',
      routes: messageRoutes({
        checkChat,
        mediaExists: async (id) => (await ctx.media.open(id)) !== null,
        spool: async (chatId, bytes, mime, fileName) => {
          // Named by content: the same bytes to the same chat are one stored file, one id.
          const digest = createHash('sha256').update(bytes).digest('hex');
          const ref = await ctx.media.save(chatId, {
            nativeId: `outbound-${digest}`,
            mime: mime ?? 'application/octet-stream',
            fileName,
            declaredSize: bytes.length,
            open: async () => Readable.from([bytes]),
          });
          return ref.id;
        },
        submit,
        status: async (id) => {
          const r = await service.find(id);
          return r ? viewOf(r) : null;
        },
        maxTextLength: opts.maxTextLength,
        maxMediaBytes: opts.maxMediaBytes,
        apiToken: config.apiToken,
        access: () => ctx.operatorAccess(),
      }),
      async start() {
        if (!workers) return;
        await service.start();
        // Paused until the license gate opens (onLicense(true)).
        await service.pause();
      },
      async stop() {
        await service.close();
      },
      async onLicense(licensed) {
        if (!workers) return;
        await (licensed ? service.resume() : service.pause());
      },
      async readiness() {
        if (!workers) return [];
        const waiting = (await service.lane.activeKeys(1000)).length;
        return [
          {
            name: 'outbound',
            ok: true,
            advisory: true,
            detail: waiting ? `${waiting} chat(s) have outbound messages waiting.` : 'No outbound messages are waiting.',
          },
        ];
      },
    };
  });
}
