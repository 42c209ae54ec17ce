/**
 * Chat keys and message ids (connector-api.md, "Identifiers").
 * A chat key is `<prefix>:<account>:<native chat id>`; only the owning channel builds the
 * native part and parses it back. Core only splits off the prefix and the account, which
 * is all it needs to find the channel and account a chat belongs to.
 */
import type { Channel } from './message.ts';

export const CHANNEL_PREFIX: Record<Channel, string> = { telegram: 'tg', whatsapp: 'wa' };

/**
 * Further prefixes a channel builds itself: `tgb:<bot>:<business user id>:<chat id>` is a chat
 * of a Telegram Business account served through a bot (its account part is the bot);
 * `tgu:<account>:<chat id>` a chat of a Telegram user account served through TDLib.
 */
export const EXTRA_CHAT_PREFIXES: Record<string, Channel> = { tgb: 'telegram', tgu: 'telegram' };

export interface ChatKeyParts {
  channel: Channel;
  account: string;
  /** Opaque to everyone but the channel that built it. */
  native: string;
}

export function buildChatKey(channel: Channel, account: string, native: string): string {
  if (!account || account.includes(':')) throw new Error(`invalid account name: ${account}`);
  return `${CHANNEL_PREFIX[channel]}:${account}:${native}`;
}

export function parseChatKey(key: string): ChatKeyParts | null {
  const first = key.indexOf(':');
  const second = first < 0 ? -1 : key.indexOf(':', first + 1);
  if (first < 0 || second < 0 || second === key.length - 1) return null;
  const prefix = key.slice(0, first);
  const channel = (Object.keys(CHANNEL_PREFIX) as Channel[]).find((c) => CHANNEL_PREFIX[c] === prefix) ?? EXTRA_CHAT_PREFIXES[prefix];
  if (!channel) return null;
  const account = key.slice(first + 1, second);
  if (!account) return null;
  return { channel, account, native: key.slice(second + 1) };
}

/** `<chat key>:<native message id>` */
export function buildMessageId(chatKey: string, nativeId: string | number): string {
  return `${chatKey}:${nativeId}`;
}
