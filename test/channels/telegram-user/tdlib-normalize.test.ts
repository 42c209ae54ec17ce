/** TDLib `message` objects (td_api.tl shapes, as updateNewMessage carries them) → normalized messages. */
import { describe, expect, it } from 'vitest';
import { normalizeTdMessage, type TdNormalizeOptions } from '../../../src/channels/telegram-user/inbound-normalize.ts';
import { parseChatKey, SERVICE_TEXTS } from '../../../src/core/index.ts';

const opts: TdNormalizeOptions = {
  account: 'sales',
  userOf: (id) => (id === 111 ? { name: 'Иван Петров', username: 'ivan', phone: '79991234567' } : null),
  chatOf: (id) => (id === 111 ? { type: 'private', title: 'Иван Петров' } : null),
  now: new Date('2026-12-01T12:00:00Z'),
};
const message = (content: object, extra: object = {}) => ({
  _: 'message',
  id: 3145728,
  sender_id: { _: 'messageSenderUser', user_id: 111 },
  chat_id: 111,
  is_outgoing: false,
  date: 1_764_590_400,
  edit_date: 0,
  media_album_id: '0',
  content,
  ...extra,
});
const file = (id: number, size: number) => ({
  _: 'file',
  id,
  size,
  expected_size: size,
  local: { _: 'localFile', path: '', is_downloading_completed: false },
  remote: { _: 'remoteFile', id: 'AgAC', unique_id: 'AQAD' },
});

describe('normalizeTdMessage', () => {
  it('a text in tgu:<account>:<chat>, with the sender from updateUser and the reply target', () => {
    const r = normalizeTdMessage(
      message(
        { _: 'messageText', text: { _: 'formattedText', text: 'Здравствуйте', entities: [] } },
        { reply_to: { _: 'messageReplyToMessage', chat_id: 111, message_id: 2097152 } },
      ),
      opts,
    );
    if ('malformed' in r) throw new Error(r.malformed);
    expect(r.ok).toMatchObject({
      id: 'tgu:sales:111:3145728',
      chatId: 'tgu:sales:111',
      kind: 'text',
      text: 'Здравствуйте',
      replyTo: 'tgu:sales:111:2097152',
      sender: { id: 'tg:111', name: 'Иван Петров', username: 'ivan', phone: '79991234567' },
      chat: { type: 'private', title: 'Иван Петров' },
      sentAt: '2025-12-01T12:00:00.000Z',
    });
    expect(r.ok.outgoing).toBeUndefined();
    expect(parseChatKey(r.ok.chatId)).toEqual({ channel: 'telegram', account: 'sales', native: '111' });
  });

  it('the largest photo size, voice and video notes as files to download; the owner’s own message is outgoing', () => {
    const photo = normalizeTdMessage(
      message({
        _: 'messagePhoto',
        photo: {
          _: 'photo',
          sizes: [
            { _: 'photoSize', type: 's', photo: file(7, 100), width: 90, height: 67 },
            { _: 'photoSize', type: 'x', photo: file(8, 9000), width: 800, height: 600 },
          ],
        },
        caption: { _: 'formattedText', text: 'фото', entities: [] },
      }),
      opts,
    );
    if ('malformed' in photo) throw new Error(photo.malformed);
    expect([photo.ok.kind, photo.ok.text, photo.file]).toEqual([
      'photo',
      'фото',
      { tdFileId: 8, mime: 'image/jpeg', fileName: null, size: 9000, messageId: 'tgu:sales:111:3145728' },
    ]);
    const note = normalizeTdMessage(
      message(
        { _: 'messageVideoNote', video_note: { _: 'videoNote', duration: 3, length: 240, video: file(9, 500) } },
        { is_outgoing: true },
      ),
      opts,
    );
    if ('malformed' in note) throw new Error(note.malformed);
    expect([note.ok.kind, note.ok.outgoing, note.file?.tdFileId]).toEqual(['video', true, 9]);
    const voice = normalizeTdMessage(
      message({
        _: 'messageVoiceNote',
        voice_note: { _: 'voiceNote', duration: 2, waveform: '', mime_type: 'audio/ogg', voice: file(10, 300) },
      }),
      opts,
    );
    expect('ok' in voice && voice.ok.kind).toBe('voice');
  });

  it('unknown content is a service line; a photo without a file or a non-message is malformed', () => {
    const r = normalizeTdMessage(message({ _: 'messageGame', game: {} }), opts);
    expect('ok' in r && r.ok.text).toBe('Клиент прислал сообщение типа, который коннектор не поддерживает (messageGame)');
    const en = normalizeTdMessage(message({ _: 'messageGame', game: {} }), { ...opts, texts: SERVICE_TEXTS.en });
    expect('ok' in en && en.ok.text).toBe('The customer sent a message of a type the connector does not support (messageGame)');
    expect(normalizeTdMessage(message({ _: 'messagePhoto', photo: { _: 'photo', sizes: [] } }), opts)).toEqual({
      malformed: 'photo without a file',
    });
    expect(normalizeTdMessage({ _: 'updateNewMessage' }, opts)).toEqual({ malformed: 'not a TDLib message object' });
  });
});
