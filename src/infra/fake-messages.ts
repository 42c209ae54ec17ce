/**
 * A made-up inbound Telegram text message, for the benchmarks and the tests that need many
 * of them (here, not in bench/, so tests do not depend on the benchmarks).
 */
import type { NewInboundMessage } from '../core/index.ts';

/** Message `n` of customer `chat` to bot `account`. */
export function fakeMessage(chat: number, n: number, account = 'bench_bot'): NewInboundMessage {
  const chatId = `tg:${account}:${chat}`;
  return {
    id: `${chatId}:${n}`,
    chatId,
    channel: 'telegram',
    account,
    chat: { type: 'private', title: `Customer ${chat}` },
    sender: { id: `tg:${chat}`, name: `Customer ${chat}`, username: null, phone: null },
    kind: 'text',
    text: `message ${n} of chat ${chat}`,
    media: [],
    replyTo: null,
    target: null,
    sentAt: new Date().toISOString(),
    receivedAt: new Date().toISOString(),
  };
}
