/** One Telegram Business connection of an emulated bot (emulator-business.ts uses it). */
import type { TgChat, TgObject, TgUser } from './emulator-types.ts';

export class BusinessConnectionState {
  readonly chats = new Map<number, TgChat>();
  readonly messageIds = new Map<number, number>();
  readonly knownMessages = new Map<number, Set<number>>();
  enabled = true;
  canReply: boolean;
  readonly date = Math.floor(Date.now() / 1000);

  constructor(
    readonly id: string,
    readonly owner: TgUser,
    canReply: boolean,
  ) {
    this.canReply = canReply;
  }

  /** The BusinessConnection object of the Bot API. */
  object(): TgObject {
    return {
      id: this.id,
      user: this.owner,
      user_chat_id: this.owner.id,
      date: this.date,
      rights: this.canReply ? { can_reply: true, can_read_messages: true } : { can_read_messages: true },
      is_enabled: this.enabled,
    };
  }
}
