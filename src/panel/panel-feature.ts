/**
 * The operator panel feature (issue 17): the page at `/panel` and the per-chat history it
 * reads. The history is filled from the bus, so it sees exactly what the rest of the
 * connector saw: inbound messages once 1C acknowledged them (`inbound.delivered`), outbound
 * messages when accepted (`outbound.accepted`) and their statuses (`outbound.status`), and
 * routing events (`routing.events`). A history write that fails is logged and skipped: the
 * panel's history is a convenience, never a reason to hold up delivery.
 *
 * Operator rights come from the context's `operatorAccess` (the operators feature installs them).
 */
import { fileURLToPath } from 'node:url';
import { describeError } from '../core/index.ts';
import { defineFeature, type ConnectorFeature, type FeatureModule } from '../features/feature-contract.ts';
import { panelRoutes } from '../http/routes/panel-routes.ts';
import { PanelHistory } from './panel-history.ts';

export const PANEL_STATIC_DIR = fileURLToPath(new URL('./static/', import.meta.url));

export interface PanelFeature extends ConnectorFeature {
  history: PanelHistory;
}

const NEEDS = ['config', 'logger', 'redis', 'bus', 'media', 'operatorAccess'] as const;

export function panelFeature(): FeatureModule<(typeof NEEDS)[number], PanelFeature> {
  return defineFeature(NEEDS, (ctx) => {
    const { config } = ctx;
    const log = ctx.logger.child({ component: 'panel' });
    const history = new PanelHistory({
      redis: ctx.redis,
      prefix: config.queuePrefix,
      maxItems: config.panel.historyMax,
      days: config.panel.historyDays,
    });
    const safely = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        log.warn({ err: describeError(err) }, `panel history: could not store ${what}`);
      }
    };
    const unsubscribe: (() => void)[] = [];
    return {
      name: 'panel',
      history,
      routes: panelRoutes({
        staticDir: PANEL_STATIC_DIR,
        userHeader: config.panel.userHeader,
        access: () => ctx.operatorAccess(),
        history,
        media: ctx.media,
      }),
      async start() {
        unsubscribe.push(
          ctx.bus.on('inbound.delivered', ({ messages }) =>
            safely('inbound messages', async () => {
              await history.addInboundMany(messages);
            }),
          ),
          ctx.bus.on('outbound.accepted', ({ message }) => safely('an outbound message', () => history.addOutbound(message))),
          ctx.bus.on('outbound.status', ({ event, chatId }) =>
            safely('a delivery status', () =>
              history.setStatus(chatId, event.id, { status: event.status, at: event.at, ...(event.error ? { error: event.error } : {}) }),
            ),
          ),
          ctx.bus.on('routing.events', ({ events }) =>
            safely('routing events', async () => {
              for (const e of events) await history.addRouting(e);
            }),
          ),
        );
      },
      async stop() {
        for (const u of unsubscribe.splice(0)) u();
      },
    };
  });
}
