/** Sending through a TDLib user account against the scripted double: the outcome is TDLib's later update. */
import { describe, expect, it } from 'vitest';
import { sendTdText } from '../../../src/channels/telegram-user/outbound-send.ts';
import type { ConnectorError, OutboundMessage } from '../../../src/core/index.ts';
import { TdlibDouble } from './tdlib-double.ts';

const out = (text: string, replyTo: string | null = null): OutboundMessage => ({
  id: `o-${Math.random()}`,
  chatId: 'tgu:sales:111',
  text,
  media: [],
  replyTo,
  operatorId: null,
  createdAt: new Date().toISOString(),
});

describe('sendTdText', () => {
  it('resolves with the final id from updateMessageSendSucceeded, with the reply target', async () => {
    const td = new TdlibDouble();
    td.on('sendMessage', () => {
      const temp = { _: 'message', id: 1_000_001, chat_id: 111, sending_state: { _: 'messageSendingStatePending' } };
      setImmediate(() =>
        td.emit({ _: 'updateMessageSendSucceeded', old_message_id: 1_000_001, message: { ...temp, id: 7 << 20, sending_state: null } }),
      );
      return temp;
    });
    const r = await sendTdText(td, out('Здравствуйте!', 'tgu:sales:111:3145728'));
    expect(r.nativeIds).toEqual([`tgu:sales:111:${7 << 20}`]);
    expect(td.requests[0]).toMatchObject({
      _: 'sendMessage',
      chat_id: 111,
      reply_to: { _: 'inputMessageReplyToMessage', message_id: 3145728 },
      input_message_content: { _: 'inputMessageText', text: { _: 'formattedText', text: 'Здравствуйте!' } },
    });
  });

  it('a later updateMessageSendFailed with a flood wait is a retryable refusal with the wait', async () => {
    const td = new TdlibDouble();
    td.on('sendMessage', () => {
      setImmediate(() =>
        td.emit({
          _: 'updateMessageSendFailed',
          old_message_id: 5,
          message: { _: 'message', id: 5 },
          error: { _: 'error', code: 429, message: 'Too Many Requests: retry after 17' },
        }),
      );
      return { _: 'message', id: 5, chat_id: 111 };
    });
    const e = (await sendTdText(td, out('x')).catch((x: unknown) => x)) as ConnectorError;
    expect([e.code, e.retryable, e.retryAfterMs]).toEqual(['telegram_flood_wait', true, 17_000]);
  });

  it('an immediate refusal (blocked) is final', async () => {
    const td = new TdlibDouble().on('sendMessage', () => ({ _: 'error', code: 400, message: 'USER_IS_BLOCKED' }));
    const e = (await sendTdText(td, out('x')).catch((x: unknown) => x)) as ConnectorError;
    expect([e.code, e.retryable]).toEqual(['telegram_blocked', false]);
  });
});
