/**
 * The operators' rights as other features see them (ConnectorContext.operatorAccess): the
 * outbound route (`POST /api/v1/messages` with an operator token) and the panel's history
 * and media routes. The rules are the transfer rule of connector-api.md (chat-actions.ts
 * `mayAct`), plus two of this file's own:
 *
 * - reading: the previous owner of a closed chat may still read it (the panel keeps the chat
 *   open on the screen of the operator who just closed it);
 * - replying: an operator's own chat passes; a queued chat they may take is claimed first
 *   (the routing CLAIM script: the first reply owns it, atomically) and the reply goes only
 *   if the claim made them the owner — of two operators answering at once, one sends and the
 *   other gets `403 not_chat_owner`, never two owners' replies in one chat.
 */
import type { AccessActor, OperatorAccess } from '../core/index.ts';
import { secretEquals } from '../http/secret-compare.ts';
import { ChatNotFoundError, NotChatOwnerError, type ChatRouting } from '../routing/chat-routing.ts';
import { mayAct } from './chat-actions.ts';
import type { LoginService } from './login-service.ts';

export interface OperatorAccessOptions {
  routing: Pick<ChatRouting, 'state' | 'claim'>;
  login: Pick<LoginService, 'authenticate'>;
  apiToken: string | null;
}

export function operatorAccess(o: OperatorAccessOptions): OperatorAccess {
  return {
    async actorOf(bearer): Promise<AccessActor> {
      if (secretEquals(bearer, o.apiToken)) return { kind: 'api' };
      const login = await o.login.authenticate(bearer);
      return { kind: 'operator', id: login.operator.id, groups: login.operator.groups };
    },
    async checkRead(chatId, actor) {
      if (actor.kind === 'api') return;
      const st = await o.routing.state(chatId);
      if (!st) throw new ChatNotFoundError(chatId);
      if (mayAct(actor, st)) return;
      if (st.status === 'closed' && st.previousOwner === actor.id) return;
      throw new NotChatOwnerError(chatId);
    },
    chatState: (chatId) => o.routing.state(chatId),
    async takeForReply(chatId, actor) {
      if (actor.kind === 'api') return;
      const st = await o.routing.state(chatId);
      if (!st) throw new ChatNotFoundError(chatId);
      if (st.status === 'assigned' && st.owner === actor.id) return;
      if (st.status !== 'queued' || !mayAct(actor, st)) throw new NotChatOwnerError(chatId);
      await o.routing.claim(chatId, actor.id);
      const after = await o.routing.state(chatId);
      if (after?.status !== 'assigned' || after.owner !== actor.id) throw new NotChatOwnerError(chatId);
    },
  };
}
