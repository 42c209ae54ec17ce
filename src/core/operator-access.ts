/**
 * What an operator may do with a chat, as seen by routes outside the operators feature
 * (outbound, panel): a seam in core so routes depend on an interface, never on the
 * operators feature or the composition root.
 */
/** Who presents a bearer: the API token, or a logged-in operator with their groups. */
export type AccessActor = { kind: 'api' } | { kind: 'operator'; id: string; groups: string[] };

/** What an operator may do with a chat, for routes outside the operators feature (outbound, panel). */
export interface OperatorAccess {
  /** The API token or a current operator login; else throws the 401. */
  actorOf(bearer: string | null): Promise<AccessActor>;
  /** Throws 404 (unknown chat) or 403 `not_chat_owner` unless the actor may see the chat (the transfer rule). */
  checkRead(chatId: string, actor: AccessActor): Promise<void>;
  /**
   * Before an operator's reply: their own chat passes; a chat queued for them or their group
   * is taken (first reply owns it, atomically); anything else throws 403 `not_chat_owner`.
   */
  takeForReply(chatId: string, actor: AccessActor): Promise<void>;
  /** The chat's routing state (null when routing does not know it). */
  chatState(chatId: string): Promise<{ status: string; owner: string | null; group: string | null; queuedFor: string | null } | null>;
}
