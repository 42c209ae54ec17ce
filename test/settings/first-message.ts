import type { InboundMessage } from '../../src/core/index.ts';

/** A chat's first customer message on `acme_bot` (what routing sees when a new chat opens). */
export const first = (chat: string): InboundMessage =>
  ({
    id: `tg:acme_bot:${chat}:1`,
    seq: 1,
    chatId: `tg:acme_bot:${chat}`,
    channel: 'telegram',
    account: 'acme_bot',
    chat: { type: 'private', title: 'C' },
    sender: { id: `tg:${chat}`, name: 'C', username: null, phone: null },
    kind: 'text',
    text: 'hi',
    media: [],
    replyTo: null,
    target: null,
    sentAt: new Date(0).toISOString(),
    receivedAt: new Date(0).toISOString(),
    route: null,
  }) as unknown as InboundMessage;
