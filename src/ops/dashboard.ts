/**
 * The queue dashboard: bull-board over every queue of the product, at `/admin/queues`,
 * behind HTTP Basic (ADMIN_USER / ADMIN_PASSWORD, compared in constant time).
 *
 * The routes live in an encapsulated fastify context with their own `onRequest` check, so
 * nothing else of the app is affected; `/admin/` is outside `/api/`, so the app's API-token
 * hook leaves them alone. Retrying a dead letter here puts the message back at its own
 * `seq` (the lane's dead-letter worker does that); removing or cleaning kick jobs is
 * harmless — pending items stay in Redis and the lane's sweep kicks them again.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { secretEquals } from '../http/secret-compare.ts';
import { readableJobName, type JobDataScrubber } from './job-view.ts';
import { isDeadLetterQueue, laneOfQueue, type QueueCatalog } from './queue-catalog.ts';

export interface DashboardOptions {
  catalog: QueueCatalog;
  admin: { user: string; password: string };
  scrubber: JobDataScrubber;
  /** Where the dashboard is served (default `/admin/queues`). */
  basePath?: string;
  /** How often the list of queues is looked up again in Redis, ms (default 30 000). */
  refreshMs?: number;
}

/** `Authorization: Basic …` → user and password, or null. */
export function basicCredentials(header: string | undefined): { user: string; password: string } | null {
  if (!header) return null;
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return null;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return null;
  return { user: decoded.slice(0, i), password: decoded.slice(i + 1) };
}

/** Both parts are always compared (no early exit on a wrong user name). */
export function basicAuthorized(header: string | undefined, admin: { user: string; password: string }): boolean {
  const c = basicCredentials(header);
  const userOk = secretEquals(c?.user ?? '', admin.user);
  const passOk = secretEquals(c?.password ?? '', admin.password);
  return c !== null && userOk && passOk;
}

function describeQueue(name: string): string {
  const lane = laneOfQueue(name);
  return isDeadLetterQueue(name)
    ? `Dead letters of the ${lane} lane: items rejected for good. Retry puts an item back at its own place (seq) in its chat.`
    : `Kicks of the ${lane} lane: one job per chat with waiting items. The items themselves wait in Redis in per-chat order.`;
}

/** Registers the dashboard in its own context of `app`. */
export async function registerDashboard(app: FastifyInstance, o: DashboardOptions): Promise<void> {
  const basePath = o.basePath ?? '/admin/queues';
  const refreshMs = o.refreshMs ?? 30_000;
  const adapterOf = (name: string) => {
    const a = new BullMQAdapter(o.catalog.queue(name), { description: describeQueue(name), allowRetries: true });
    a.setFormatter('name', (job: { name?: string; data?: unknown }) => readableJobName(job));
    a.setFormatter('data', (data: unknown) => o.scrubber.value(data));
    a.setFormatter('returnValue', (v: unknown) => o.scrubber.value(v));
    return a;
  };
  let shown = await o.catalog.names();
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(basePath);
  const board = createBullBoard({
    queues: shown.map(adapterOf),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'chat-connector queues' } },
  });
  let lastRefresh = Date.now();

  await app.register(async (scope) => {
    scope.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
      if (!basicAuthorized(req.headers.authorization, o.admin)) {
        reply.header('WWW-Authenticate', 'Basic realm="chat-connector queues", charset="UTF-8"');
        return reply
          .code(401)
          .send({ error: { code: 'unauthorized', message: 'The queue dashboard needs the ADMIN_USER and ADMIN_PASSWORD login.' } });
      }
      if (Date.now() - lastRefresh > refreshMs) {
        lastRefresh = Date.now();
        const now = await o.catalog.names().catch(() => shown);
        if (now.join() !== shown.join()) {
          shown = now;
          board.replaceQueues(shown.map(adapterOf));
        }
      }
    });
    await scope.register(serverAdapter.registerPlugin(), { prefix: basePath });
  });
}
