/**
 * TDLib delivers updateNewMessage once: a runner that died after delivery and before storing
 * would lose the message. The next runner's catch-up (getChats → getChat → getChatHistory back
 * to last_read_inbox_message_id) takes every unread incoming message again, oldest first, ahead
 * of live updates; a message also arriving live, or stored but never marked read, is stored
 * once (same id both ways); our own messages in the history are not taken; bounds hold.
 */
import { describe, expect, it } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TdUserRunner, type TdCatchUpOptions, type TdCatchUpReport } from '../../../src/channels/telegram-user/inbound-runner.ts';
import type { TdObject } from '../../../src/channels/telegram-user/tdlib-client.ts';
import { FileMediaStore } from '../../../src/media/file-media-store.ts';
import { MemorySink } from '../telegram/helpers.ts';
import { TdlibDouble } from './tdlib-double.ts';

const NOW = Math.floor(Date.now() / 1000);
const msg = (chat: number, n: number, body: string, extra: object = {}): TdObject => ({
  _: 'message',
  id: n << 20,
  sender_id: { _: 'messageSenderUser', user_id: chat > 0 ? chat : 111 },
  chat_id: chat,
  is_outgoing: false,
  date: NOW - 100 + n,
  content: { _: 'messageText', text: { _: 'formattedText', text: body, entities: [] } },
  ...extra,
});
const privateChat = (id: number): TdObject => ({ _: 'chat', id, type: { _: 'chatTypePrivate', user_id: id }, title: `c${id}` });

function runner(td: TdlibDouble, catchUp?: TdCatchUpOptions): TdUserRunner {
  return new TdUserRunner({
    account: 'sales',
    open: async () => td,
    mediaStore: new FileMediaStore({ dir: join(tmpdir(), 'tdu-catchup-media'), publicUrl: 'http://127.0.0.1:8080' }),
    backoffMinMs: 5,
    catchUp,
  });
}

/** Opens the runner (ready) and resolves with its catch-up report. */
async function open(r: TdUserRunner, td: TdlibDouble, sink: MemorySink): Promise<TdCatchUpReport> {
  const done = new Promise<TdCatchUpReport>((res) => r.once('catchUp', res));
  await r.start(sink);
  td.authState({ _: 'authorizationStateReady' });
  return done;
}

describe('TDLib catch-up of unread messages when an account opens', () => {
  it('recovers what a dead runner never stored, once each, in order, ahead of live updates', async () => {
    const td = new TdlibDouble();
    td.historyPage = 2; // several pages back to the last read message
    const sink = new MemorySink(); // the pipeline's store: it outlives the process
    td.addChat(privateChat(111));
    td.addChat({ _: 'chat', id: -100500, type: { _: 'chatTypeBasicGroup', basic_group_id: 500 }, title: 'group' });

    // Runner 1 stores m1, then dies: marking m1 read fails (killed before viewMessages), the store is down for m2
    // (held and retried, m3 waits behind it) when the process is stopped.
    td.on('viewMessages', () => ({ _: 'error', code: 500, message: 'the process died' }));
    const r1 = runner(td);
    expect(await open(r1, td, sink)).toEqual({ chats: 0, messages: 0, incomplete: [] });
    sink.once('stored', () => (sink.failNext = 1_000));
    td.deliver(msg(111, 1, 'm1'));
    td.deliver(msg(111, 2, 'm2'));
    // Our own reply, sent: in the history, never an updateNewMessage without sending_state.
    td.deliver(msg(111, 3, 'our reply', { is_outgoing: true }), false);
    td.deliver(msg(-100500, 4, 'in the group')); // groups are off: not taken, stays unread
    td.deliver(msg(111, 5, 'm3'));
    await new Promise((res) => sink.on('failed', (m: { text: string }[]) => m[0].text === 'm2' && res(null)));
    await r1.stop();
    expect(sink.stored.map((m) => m.text)).toEqual(['m1']);
    expect(td.chatView(111)).toMatchObject({ unread_count: 3, last_read_inbox_message_id: 0 });

    // Runner 2 opens: while it reads the history, m4 arrives live (in the history and as an update).
    sink.failNext = 0;
    td.off('viewMessages');
    const callsBefore = sink.calls.length;
    let once = true;
    td.tap = (r) => {
      if (r._ === 'getChatHistory' && once) {
        once = false;
        td.deliver(msg(111, 6, 'm4'));
      }
    };
    const r2 = runner(td);
    const report = await open(r2, td, sink);
    expect(report).toEqual({ chats: 1, messages: 4, incomplete: [] });
    td.deliver(msg(111, 7, 'm5'));
    await sink.waitFor(5);
    await r2.stop();

    expect(sink.stored.map((m) => m.text)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
    expect(new Set(sink.stored.map((m) => m.id)).size).toBe(5);
    expect(sink.stored.map((m) => m.id)).toEqual([1, 2, 5, 6, 7].map((n) => `tgu:sales:111:${n << 20}`));
    // m1 (stored, not read) and m4 (history + live) went to the store twice, with the same id: kept once.
    const offered = sink.calls
      .slice(callsBefore)
      .flat()
      .map((m) => m.text);
    expect(offered).toEqual(['m1', 'm2', 'm3', 'm4', 'm4', 'm5']);
    expect(td.requests.filter((r) => r._ === 'getChatHistory' && r.chat_id === 111).length).toBeGreaterThan(2);
    expect(td.chatView(111)).toMatchObject({ unread_count: 0, last_read_inbox_message_id: 7 << 20 });
    expect(td.chatView(-100500)).toMatchObject({ unread_count: 1 });

    // A third opening finds nothing left to recover.
    const r3 = runner(td);
    expect(await open(r3, td, sink)).toEqual({ chats: 0, messages: 0, incomplete: [] });
    await r3.stop();
    expect(sink.stored).toHaveLength(5);
  });

  it('keeps to its bounds: chats, messages per chat (the newest), age', async () => {
    const td = new TdlibDouble();
    const sink = new MemorySink();
    td.addChat(privateChat(111));
    td.addChat(privateChat(222));
    td.addChat(privateChat(333));
    for (let n = 1; n <= 5; n += 1) td.deliver(msg(111, n, `a${n}`), false);
    td.deliver(msg(222, 6, 'b-old', { date: NOW - 30 * 86_400 }), false);
    td.deliver(msg(222, 7, 'b1'), false);
    td.deliver(msg(333, 8, 'c1'), false);
    const r = runner(td, { maxChats: 2, maxMessages: 3, maxAgeS: 86_400 });
    // getChats orders by the latest message: 333, 222, then 111 is over maxChats.
    expect(await open(r, td, sink)).toEqual({ chats: 2, messages: 2, incomplete: [222, 111] });
    await r.stop();
    expect(sink.stored.map((m) => m.text)).toEqual(['c1', 'b1']);
    expect(td.chatView(111)).toMatchObject({ unread_count: 5 });

    const again = runner(td, { maxMessages: 3 });
    expect(await open(again, td, sink)).toEqual({ chats: 1, messages: 3, incomplete: [111] });
    await again.stop();
    expect(sink.stored.map((m) => m.text)).toEqual(['c1', 'b1', 'a3', 'a4', 'a5']);
  });

  it('skips a chat TDLib cannot give and recovers the others', async () => {
    const td = new TdlibDouble();
    const sink = new MemorySink();
    td.addChat(privateChat(111));
    td.addChat(privateChat(222));
    td.deliver(msg(111, 1, 'a1'), false);
    td.deliver(msg(222, 2, 'b1'), false);
    td.on('getChat', (r) => (r.chat_id === 222 ? { _: 'error', code: 400, message: 'Chat not found' } : td.chatView(r.chat_id as number)));
    const r = runner(td);
    expect(await open(r, td, sink)).toEqual({ chats: 1, messages: 1, incomplete: [] });
    await r.stop();
    expect(sink.stored.map((m) => m.text)).toEqual(['a1']);
  });
});
