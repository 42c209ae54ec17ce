/**
 * In-process events between feature modules (outbound, routing, operator feed, metrics),
 * so they meet through a seam instead of importing each other. Handlers are awaited in
 * registration order; a failing handler is logged and does not stop the others.
 */
import type { InboundMessage, OutboundMessage, StatusEvent } from './core/index.ts';

export interface BusEvents {
  /** 1C acknowledged these inbound messages (accepted or duplicate). */
  'inbound.delivered': { messages: InboundMessage[] };
  /** The API accepted a new outbound message (before it is sent). Routing claims ownership here. */
  'outbound.accepted': { message: OutboundMessage };
  /** The license gate's decision is now in force: workers paused or resumed, accounts stopped or started. */
  'license.applied': { licensed: boolean };
  /**
   * Routing changed chats (fresh events only, in order per chat; the routing module emits
   * them after they are stored). Auto-replies watch how long chats wait in the queue; the
   * operator panel's history records them (with their comment and actor).
   */
  'routing.events': { events: (RoutingChange & Record<string, unknown>)[] };
  /** A delivery status of an outbound message (sent, delivered, read, failed). */
  'outbound.status': { event: StatusEvent; chatId: string; operatorId: string | null };
}

/** What the bus carries of a routing event (src/routing/chat-routing.ts RoutingEvent). */
export interface RoutingChange {
  id: string;
  chatId: string;
  type: 'queued' | 'assigned' | 'transferred' | 'closed' | 'reopened';
  operatorId: string | null;
  group: string | null;
  at: string;
  /** The owner before this event. */
  previousOwner: string | null;
}

type Handler<K extends keyof BusEvents> = (payload: BusEvents[K]) => void | Promise<void>;

export class ConnectorBus {
  private readonly handlers: { [K in keyof BusEvents]?: Handler<K>[] } = {};
  constructor(private readonly onError: (event: string, err: unknown) => void = () => undefined) {}

  on<K extends keyof BusEvents>(event: K, handler: Handler<K>): () => void {
    const list = (this.handlers[event] ??= []) as Handler<K>[];
    list.push(handler);
    return () => {
      const i = list.indexOf(handler);
      if (i >= 0) list.splice(i, 1);
    };
  }

  async emit<K extends keyof BusEvents>(event: K, payload: BusEvents[K]): Promise<void> {
    for (const h of this.handlers[event] ?? []) {
      try {
        await h(payload);
      } catch (err) {
        this.onError(event, err);
      }
    }
  }
}
