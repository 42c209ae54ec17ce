/**
 * Who sees what in the operator feed:
 * - `message`: an inbound message 1C acknowledged — to its chat's owner, or, while the chat
 *   is queued, to the operator a rule queued it for, else to every logged-in operator of
 *   its group (they may take it);
 * - `routing`: a routing event — to the new and the previous owner and the operators of
 *   the chat's group (so a taken chat leaves their queue);
 * - `status`: a delivery status of an outbound message — to the operator who sent it.
 */
import type { InboundMessage, StatusEvent } from '../core/index.ts';
import type { RoutingEvent } from '../routing/chat-routing.ts';
import type { FeedEntry, OperatorFeed } from './operator-feed.ts';

export interface FeedFanoutDeps {
  feed: Pick<OperatorFeed, 'publish'>;
  groupMembers(group: string): Promise<string[]>;
}

export class FeedFanout {
  constructor(private readonly d: FeedFanoutDeps) {}

  async messages(messages: InboundMessage[]): Promise<void> {
    const entries: FeedEntry[] = [];
    const groups = new Map<string, string[]>();
    for (const m of messages) {
      const route = m.route;
      if (!route || route.status === 'closed') continue;
      let to: string[];
      if (route.operatorId) to = [route.operatorId];
      else if (route.group) {
        if (!groups.has(route.group)) groups.set(route.group, await this.d.groupMembers(route.group));
        to = groups.get(route.group) ?? [];
      } else to = [];
      for (const op of to) entries.push({ operatorId: op, type: 'message', data: m });
    }
    await this.d.feed.publish(entries);
  }

  async routing(events: RoutingEvent[]): Promise<void> {
    const entries: FeedEntry[] = [];
    for (const e of events) {
      const to = new Set<string>();
      if (e.operatorId) to.add(e.operatorId);
      if (e.previousOwner) to.add(e.previousOwner);
      if (e.group) for (const op of await this.d.groupMembers(e.group)) to.add(op);
      const data = {
        id: e.id,
        chatId: e.chatId,
        type: e.type,
        operatorId: e.operatorId,
        group: e.group,
        previousOwner: e.previousOwner,
        comment: e.comment ?? null,
        at: e.at,
        actor: e.actor,
      };
      for (const op of to) entries.push({ operatorId: op, type: 'routing', data });
    }
    await this.d.feed.publish(entries);
  }

  async status(p: { event: StatusEvent; chatId: string; operatorId: string | null }): Promise<void> {
    if (!p.operatorId) return;
    await this.d.feed.publish([{ operatorId: p.operatorId, type: 'status', data: { chatId: p.chatId, ...p.event } }]);
  }
}
