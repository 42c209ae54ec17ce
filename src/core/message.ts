/**
 * The normalized message model (connector-api.md, "The normalized inbound message").
 * Core knows no network: channels build these, the pipeline moves them, 1C stores them.
 */

export type Channel = 'telegram' | 'whatsapp';

export type MessageKind =
  | 'text'
  | 'photo'
  | 'video'
  | 'voice'
  | 'audio'
  | 'document'
  | 'sticker'
  | 'location'
  | 'contact'
  | 'poll'
  | 'reaction'
  | 'edit'
  | 'delete'
  | 'service';

export type ChatType = 'private' | 'group' | 'channel';

export interface ChatInfo {
  type: ChatType;
  /** Person's name for private chats, the group title otherwise. */
  title: string | null;
}

export interface Sender {
  /** Channel-scoped opaque id, e.g. `tg:123456789` or `wa:79991234567@s.whatsapp.net`. */
  id: string;
  name: string | null;
  username: string | null;
  phone: string | null;
}

/** A file the connector downloaded when the message arrived; served at `url` to API-token holders. */
export interface MediaRef {
  id: string;
  mime: string;
  fileName: string | null;
  size: number;
  sha256: string;
  url: string;
}

export type RouteStatus = 'queued' | 'assigned' | 'closed';

export interface Route {
  status: RouteStatus;
  operatorId: string | null;
  group: string | null;
}

export interface Location {
  lat: number;
  lon: number;
  name: string | null;
}
export interface Contact {
  name: string | null;
  phone: string | null;
}
export interface Poll {
  question: string;
  options: string[];
}

interface InboundBase {
  /** `<chat key>:<native id>` — the idempotency key in 1C. */
  id: string;
  chatId: string;
  channel: Channel;
  account: string;
  chat: ChatInfo;
  sender: Sender;
  /** Text, caption, reaction emoji, poll question or service description. */
  text: string | null;
  media: MediaRef[];
  replyTo: string | null;
  target: string | null;
  /** When the messenger says the customer sent it (ISO 8601). */
  sentAt: string;
  /** When the connector took it over (ISO 8601). */
  receivedAt: string;
  /**
   * Additive to the spec: present (true) only on a message the account's owner sent from their
   * own app (a Telegram Business owner typing on the phone), so 1C shows the whole conversation
   * and does not treat it as the customer's.
   */
  outgoing?: true;
}

type PlainKind = Exclude<MessageKind, 'location' | 'contact' | 'poll' | 'reaction' | 'edit' | 'delete'>;

/**
 * The sender of what the connector itself writes into a chat (auto-replies), carried to 1C as
 * an `outgoing` message: `operatorId: "system"` of connector-api.md, as a sender.
 */
export const SYSTEM_SENDER: Sender = { id: 'system', name: null, username: null, phone: null };

/** A message as a channel produces it: no `seq` and no `route` yet. */
export type NewInboundMessage =
  | (InboundBase & { kind: PlainKind })
  | (InboundBase & { kind: 'location'; location: Location })
  | (InboundBase & { kind: 'contact'; contact: Contact })
  | (InboundBase & { kind: 'poll'; poll: Poll })
  | (InboundBase & { kind: 'reaction' | 'edit' | 'delete'; target: string });

/** What 1C receives: the channel's message plus the pipeline's per-chat `seq` and routing decision. */
export type InboundMessage = NewInboundMessage & { seq: number; route: Route | null };

/** A media item of an outbound request (connector-api.md `POST /api/v1/messages`). */
export interface OutboundMedia {
  url?: string;
  base64?: string;
  /** Id of a media item the connector received earlier (`media[].id`). */
  mediaId?: string;
  mime?: string;
  fileName?: string;
  /** photo | document | voice | audio | video — inferred from `mime` when absent. */
  kind?: 'photo' | 'document' | 'voice' | 'audio' | 'video';
}

export interface OutboundMessage {
  id: string;
  chatId: string;
  text: string | null;
  media: OutboundMedia[];
  replyTo: string | null;
  operatorId: string | null;
  /** Per-chat order, assigned when accepted. */
  seq?: number;
  createdAt: string;
}

export type DeliveryStatus = 'queued' | 'sent' | 'delivered' | 'read' | 'failed';

export interface StatusEvent {
  /** The outbound message id. */
  id: string;
  status: Exclude<DeliveryStatus, 'queued'>;
  at: string;
  error?: string;
  /** The typed code of a failure (e.g. `whatsapp_account_restricted`), shown by GET /api/v1/messages/:id. */
  errorCode?: string;
  /** The messenger's own id(s) of what was sent, so replies and edits can refer to it. */
  nativeIds?: string[];
}
