/**
 * The HTTP app with every route plugin the connector registers (connector.ts and the
 * outbound, operators and ops features), each over stub dependencies that SUCCEED: a request
 * that gets past authentication reaches a handler that answers 2xx, so a bypass shows.
 * The operator stubs behave like the login service: only OPERATOR_TOKEN is a current login.
 *
 * `routes` lists every registered route (method + url) as fastify's `onRoute` hook saw it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { OperatorAccess } from '../../src/core/index.ts';
import { buildHttpApp } from '../../src/http/app.ts';
import { accountRoutes } from '../../src/http/routes/account-routes.ts';
import { chatRoutes } from '../../src/http/routes/chat-routes.ts';
import { healthRoutes } from '../../src/http/routes/health-routes.ts';
import { licenseRoutes } from '../../src/http/routes/license-routes.ts';
import { mediaRoutes } from '../../src/http/routes/media-routes.ts';
import { messageRoutes } from '../../src/http/routes/message-routes.ts';
import { onecPullRoutes } from '../../src/http/routes/onec-pull-routes.ts';
import { operatorRoutes } from '../../src/http/routes/operator-routes.ts';
import { panelRoutes } from '../../src/http/routes/panel-routes.ts';
import { settingsRoutes } from '../../src/http/routes/settings-routes.ts';
import { PANEL_STATIC_DIR } from '../../src/panel/panel-feature.ts';
import { telegramWebhookRoutes } from '../../src/http/routes/telegram-webhook-routes.ts';
import { telegramUserRoutes } from '../../src/http/routes/telegram-user-routes.ts';
import { whatsappRoutes, type WhatsappRunnerLike } from '../../src/http/routes/whatsapp-routes.ts';
import { FileMediaStore } from '../../src/media/file-media-store.ts';
import { OperatorTokenError } from '../../src/operators/operator-errors.ts';
import type { OperatorLogin } from '../../src/operators/operator-store.ts';
import { registerDashboard } from '../../src/ops/dashboard.ts';
import { JobDataScrubber } from '../../src/ops/job-view.ts';
import { metricsRoutes } from '../../src/ops/ops-feature.ts';
import { QueueCatalog } from '../../src/ops/queue-catalog.ts';
import type { ChatRouteState, RoutingEvent } from '../../src/routing/chat-routing.ts';
import { cleanupPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';

export const API_TOKEN = 'api-token-0123456789abcdef';
export const OPERATOR_TOKEN = 'operator-token-0123456789abcdef';
export const ADMIN = { user: 'admin', password: 'dashboard-password-0123' };

export interface FullApp {
  app: FastifyInstance;
  routes: { method: string; url: string }[];
  mediaId: string;
  close(): Promise<void>;
}

const operatorLogin = {
  tokenHash: 'x',
  operator: { id: 'petrova', name: 'Petrova', groups: ['sales'] },
  workstationUser: 'CORP\\petrova',
  client: 'panel',
  feature: 48,
  seatSession: 's',
  issuedAt: new Date().toISOString(),
} as unknown as OperatorLogin;

const seat = { feature: 48 as const, used: 1, total: 5 };

async function operatorOnly(token: string | null): Promise<OperatorLogin> {
  if (token !== OPERATOR_TOKEN) throw new OperatorTokenError();
  return operatorLogin;
}

const chatState = {
  chatId: 'tg:bot:1',
  status: 'assigned',
  operatorId: 'petrova',
  group: 'sales',
  previousOperatorId: null,
} as unknown as ChatRouteState;
const event = { type: 'close', chatId: 'tg:bot:1' } as unknown as RoutingEvent;

const runner: WhatsappRunnerLike = {
  state: () => ({ channel: 'whatsapp', account: 'main', state: 'connecting' }) as ReturnType<WhatsappRunnerLike['state']>,
  currentQr: () => 'qr',
  qrPng: async () => Buffer.from('\x89PNG'),
  qrPngWhenReady: async () => Buffer.from('\x89PNG'),
  requestPairingCode: async () => 'ABCD-EFGH',
};

// Like the operators feature: the API token, or a current operator login, else the 401.
const operatorAccess: OperatorAccess = {
  actorOf: async (bearer) => {
    if (bearer === API_TOKEN) return { kind: 'api' };
    const login = await operatorOnly(bearer);
    return { kind: 'operator', id: login.operator.id, groups: login.operator.groups };
  },
  checkRead: async () => undefined,
  takeForReply: async () => undefined,
  chatState: async () => null,
};

export async function buildFullApp(extra: FastifyPluginAsync[] = []): Promise<FullApp> {
  const dir = mkdtempSync(join(tmpdir(), 'full-app-'));
  const media = new FileMediaStore({ dir, publicUrl: 'http://x', maxBytes: 1024 });
  const ref = await media.save('tg:bot:1', {
    nativeId: 'f1',
    mime: 'image/png',
    fileName: 'a.png',
    declaredSize: 5,
    open: async () => Readable.from([Buffer.from('hello')]),
  });
  const prefix = uniquePrefix('full-app');
  const catalog = new QueueCatalog({ redisUrl: REDIS_URL, prefix });
  const routes: { method: string; url: string }[] = [];
  // Not encapsulated (fastify-plugin's marker): the hook sees the routes of every plugin.
  const collect = Object.assign(
    async (app: FastifyInstance) => {
      app.addHook('onRoute', (r) => {
        for (const m of ([] as string[]).concat(r.method)) routes.push({ method: m, url: r.url ?? r.path ?? '' });
      });
    },
    { [Symbol.for('skip-override')]: true },
  );
  const app = await buildHttpApp({
    apiToken: API_TOKEN,
    admin: ADMIN,
    plugins: [
      collect,
      ...extra,
      healthRoutes({
        readiness: async () => [{ name: 'redis', ok: true, detail: 'Redis answers at 10.0.0.7:6379.' }],
        apiToken: API_TOKEN,
      }),
      mediaRoutes({ media }),
      licenseRoutes({ report: async () => ({ features: [] }) }),
      accountRoutes({ accounts: () => [], holders: async () => ({}) }),
      telegramWebhookRoutes({ telegram: { handleWebhook: async () => ({ status: 200 }) }, licensed: () => true }),
      whatsappRoutes({ runner: (a) => (a === 'main' ? runner : undefined) }),
      telegramUserRoutes({
        loginView: (account) => ({ account, step: 'wait_phone', codeSentTo: null, passwordHint: null }),
        login: async (account) => ({ account, step: 'wait_code', codeSentTo: '+79991234567', passwordHint: null }),
      }),
      messageRoutes({
        apiToken: API_TOKEN,
        access: () => operatorAccess,
        checkChat: async () => null,
        mediaExists: async () => true,
        submit: async () => ({ created: true }),
        status: async (id) => ({
          id,
          chatId: 'tg:bot:1',
          status: 'queued',
          createdAt: new Date().toISOString(),
          updatedAt: new Date().toISOString(),
        }),
      }),
      operatorRoutes({
        login: {
          login: async () => ({ token: OPERATOR_TOKEN, operator: operatorLogin.operator, seat, expiresAt: new Date().toISOString() }),
          heartbeat: async (t) => {
            await operatorOnly(t);
            return { expiresAt: new Date().toISOString(), seat };
          },
          logout: async (t) => {
            await operatorOnly(t);
          },
          authenticate: operatorOnly,
          revoke: async () => 1,
        },
        feed: {
          serve: async (res) => {
            res.writeHead(200, { 'content-type': 'text/event-stream' });
            res.end(': ok\n\n');
          },
        },
      }),
      chatRoutes({
        // Like the operators feature: the API token, or a current operator login, else the 401.
        actorOf: async (bearer) => {
          if (bearer === API_TOKEN) return { kind: 'api' };
          const login = await operatorOnly(bearer);
          return { kind: 'operator', id: login.operator.id, groups: login.operator.groups };
        },
        transfer: async () => event,
        close: async () => event,
        state: async () => chatState,
        rules: async () => [],
        setRules: async () => [],
        chatNotFound: () => new Error('no chat'),
      }),
      metricsRoutes({ text: async () => ({ contentType: 'text/plain', body: 'up 1\n' }) }),
      onecPullRoutes({ fetch: async () => ({ updates: [], next: '' }), ack: async () => 0 }),
      settingsRoutes({ get: async () => ({}), effective: async () => ({}), put: async () => ({}) }),
      panelRoutes({
        staticDir: PANEL_STATIC_DIR,
        userHeader: null,
        // Like the operators feature: the API token, or a current operator login, else the 401.
        access: () => operatorAccess,
        history: {
          page: async () => ({ items: [], before: null }),
          hasMedia: async () => true,
          recentChats: async () => [],
          lastMessage: async () => null,
        },
        media,
      }),
      async (app) => registerDashboard(app, { catalog, admin: ADMIN, scrubber: new JobDataScrubber([]) }),
    ],
  });
  await app.ready();
  return {
    app,
    routes,
    mediaId: ref.id,
    async close() {
      await app.close();
      await catalog.close();
      await cleanupPrefix(prefix);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
