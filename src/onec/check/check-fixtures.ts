/**
 * What `onec-check` writes to 1C: normalized inbound messages (connector-api.md) of every
 * shape the connector produces, delivery statuses and routing events — all under the chat
 * key `test:onec-check:<run>`, which the contract reserves for the checker.
 */

export type Item = Record<string, unknown>;

/** RFC 2606: `.invalid` never resolves, so a media URL here can never fetch anything real. */
const MEDIA_ROOT = 'https://onec-check.invalid/media';

function message(chatId: string, n: number, seq: number, at: Date, fields: Item): Item {
  return {
    id: `${chatId}:${n}`,
    seq,
    chatId,
    channel: 'telegram',
    account: 'onec-check',
    chat: { type: 'private', title: 'onec-check' },
    sender: { id: 'tg:onec-check', name: 'Проверка onec-check', username: 'onec_check', phone: null },
    kind: 'text',
    text: null,
    media: [],
    replyTo: null,
    target: null,
    sentAt: at.toISOString(),
    receivedAt: at.toISOString(),
    route: { status: 'queued', operatorId: null, group: null },
    ...fields,
  };
}

/** Six messages of mixed kinds, seq 1…6: text, photo with media, location, contact, an edit of the text, a reply to it. */
export function mixedBatch(chatId: string, now = new Date()): Item[] {
  const first = `${chatId}:1`;
  return [
    message(chatId, 1, 1, now, { kind: 'text', text: 'onec-check: текст сообщения' }),
    message(chatId, 2, 2, now, {
      kind: 'photo',
      text: 'onec-check: подпись к фото',
      media: [
        {
          id: 'onec-check-photo-1',
          mime: 'image/jpeg',
          fileName: 'photo.jpg',
          size: 1024,
          sha256: '0'.repeat(64),
          url: `${MEDIA_ROOT}/onec-check-photo-1`,
        },
      ],
    }),
    message(chatId, 3, 3, now, { kind: 'location', location: { lat: 55.7558, lon: 37.6173, name: 'onec-check' } }),
    message(chatId, 4, 4, now, { kind: 'contact', contact: { name: 'Проверка', phone: '+70000000000' } }),
    message(chatId, 5, 5, now, { id: `${first}:edit:1`, kind: 'edit', text: 'onec-check: исправленный текст', target: first }),
    message(chatId, 6, 6, now, { kind: 'text', text: 'onec-check: ответ', replyTo: first }),
  ];
}

/** `count` text messages continuing the chat's seq after `afterSeq`. */
export function bigBatch(chatId: string, count: number, afterSeq: number, now = new Date()): Item[] {
  return Array.from({ length: count }, (_, i) =>
    message(chatId, 1000 + i, afterSeq + 1 + i, now, { id: `${chatId}:big:${i + 1}`, text: `onec-check: сообщение ${i + 1} из ${count}` }),
  );
}

/** Statuses of three outbound messages 1C never sent (the checker cannot know any real one). */
export function statusBatch(chatId: string, now = new Date()): Item[] {
  const at = now.toISOString();
  return [
    { id: `${chatId}:out:1`, status: 'sent', at },
    { id: `${chatId}:out:2`, status: 'delivered', at },
    { id: `${chatId}:out:3`, status: 'failed', at, error: 'onec-check: проверочная ошибка доставки' },
  ];
}

/** A chat queued and closed; no operator (the checker knows none, and assigns nobody). */
export function routingBatch(chatId: string, now = new Date()): Item[] {
  const at = now.toISOString();
  return [
    { id: `${chatId}:ev:1`, chatId, type: 'queued', operatorId: null, group: null, comment: 'onec-check', at },
    { id: `${chatId}:ev:2`, chatId, type: 'closed', operatorId: null, group: null, comment: 'onec-check', at },
  ];
}
