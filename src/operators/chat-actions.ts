/**
 * What the chat endpoints (src/http/routes/chat-routes.ts) may do, for whom
 * (connector-api.md, transfer and close):
 *
 * - the caller is the API token (`api`) or a current operator login (their id and groups);
 * - the chat's owner, or for a queued chat an operator it is queued for or of its group, or
 *   the API may transfer or close it; anyone else gets `403 not_chat_owner` (checked inside
 *   the routing script, on the state it changes — ChatRouting);
 * - the target must exist, else `404`. The connector keeps no list of 1C's users, so it
 *   knows what it has seen: an operator who has logged in here (OperatorStore `known`);
 *   a group of such an operator, a group of a keyword rule, or the default group.
 *   A transfer to an operator who never logged in is refused even if 1C has them: they
 *   could not see the chat anyway until they log in, and the refusal catches typos.
 */
import { ConnectorError } from '../core/index.ts';
import type { ChatRouteDeps } from '../http/routes/chat-routes.ts';
import { secretEquals } from '../http/secret-compare.ts';
import { ChatNotFoundError, NotChatOwnerError, type ChatRouteState, type ChatRouting, type RoutingActor } from '../routing/chat-routing.ts';
import type { LoginService } from './login-service.ts';
import type { OperatorStore } from './operator-store.ts';

export class UnknownOperatorError extends ConnectorError {
  constructor(operatorId: string) {
    super('unknown_operator', `No operator "${operatorId}" has logged in to this connector; transfer to an operator who has.`, {
      httpStatus: 404,
      retryable: false,
    });
  }
}

export class UnknownGroupError extends ConnectorError {
  constructor(group: string) {
    super(
      'unknown_group',
      `No group "${group}" is known: it is neither a group of an operator who has logged in, nor of a routing rule, nor the default group.`,
      { httpStatus: 404, retryable: false },
    );
  }
}

export interface ChatActionsOptions {
  routing: Pick<ChatRouting, 'transfer' | 'close' | 'state' | 'rules' | 'setRules'>;
  store: Pick<OperatorStore, 'isKnownOperator' | 'isKnownGroup'>;
  login: Pick<LoginService, 'authenticate'>;
  /** The API token (null refuses it). */
  apiToken: string | null;
  /** The group of chats no rule matched. */
  defaultGroup: string;
}

export function chatActions(o: ChatActionsOptions): ChatRouteDeps {
  const knownGroup = async (g: string): Promise<boolean> =>
    g === o.defaultGroup || (await o.store.isKnownGroup(g)) || (await o.routing.rules()).some((r) => r.group === g);

  return {
    async actorOf(bearer): Promise<RoutingActor> {
      if (secretEquals(bearer, o.apiToken)) return { kind: 'api' };
      const login = await o.login.authenticate(bearer);
      return { kind: 'operator', id: login.operator.id, groups: login.operator.groups };
    },
    async transfer(chatId, to, comment, actor) {
      // Unknown chat, then the actor's right, then the target: an operator who may not touch
      // the chat learns nothing about which operators or groups exist. The script checks
      // the right again on the state it changes (this read may be stale by then).
      const st = await o.routing.state(chatId);
      if (!st) throw new ChatNotFoundError(chatId);
      if (!mayAct(actor, st)) throw new NotChatOwnerError(chatId);
      if (to.operatorId && !(await o.store.isKnownOperator(to.operatorId))) throw new UnknownOperatorError(to.operatorId);
      if (to.group && !(await knownGroup(to.group))) throw new UnknownGroupError(to.group);
      return o.routing.transfer(chatId, to, comment, actor);
    },
    close: (chatId, actor) => o.routing.close(chatId, actor),
    state: (chatId) => o.routing.state(chatId),
    rules: () => o.routing.rules(),
    setRules: (input) => o.routing.setRules(input),
    chatNotFound: (chatId) => new ChatNotFoundError(chatId),
  };
}

/** The rule of mayAct (src/routing/scripts/includes/mayAct.lua), for the early answer (the script has the last word). */
export function mayAct(actor: RoutingActor, st: ChatRouteState): boolean {
  if (actor.kind === 'api') return true;
  if (st.owner !== null && st.owner === actor.id) return true;
  if (st.status !== 'queued') return false;
  if (st.queuedFor !== null && st.queuedFor === actor.id) return true;
  return st.group !== null && actor.groups.includes(st.group);
}
