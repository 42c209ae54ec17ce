/** Test doubles for the Telegram channel tests: an in-memory InboundSink and a capturing Logger. */
import { EventEmitter } from 'node:events';
import type { IngestResult, InboundSink, Logger, NewInboundMessage } from '../../../src/core/index.ts';

export class MemorySink extends EventEmitter implements InboundSink {
  readonly stored: NewInboundMessage[] = [];
  readonly calls: NewInboundMessage[][] = [];
  failNext = 0;
  private readonly seqs = new Map<string, number>();

  async ingest(messages: NewInboundMessage[]): Promise<IngestResult[]> {
    this.calls.push(messages);
    if (this.failNext > 0) {
      this.failNext -= 1;
      this.emit('failed', messages);
      throw new Error('the store is down');
    }
    const out = messages.map((m) => {
      const dup = this.stored.some((s) => s.id === m.id);
      if (!dup) {
        this.stored.push(m);
        this.seqs.set(m.chatId, (this.seqs.get(m.chatId) ?? 0) + 1);
      }
      return { id: m.id, seq: this.seqs.get(m.chatId) ?? 0, duplicate: dup };
    });
    this.emit('stored', messages);
    return out;
  }

  /** Resolves once `count` distinct messages are stored. */
  async waitFor(count: number): Promise<NewInboundMessage[]> {
    while (this.stored.length < count) await new Promise((r) => this.once('stored', r));
    return this.stored;
  }
}

export interface LogLine {
  level: string;
  obj: object;
  msg: string | undefined;
}

export function captureLogger(lines: LogLine[] = [], bindings: object = {}): Logger & { lines: LogLine[] } {
  const at = (level: string) => (a: object | string, b?: string) => {
    if (typeof a === 'string') lines.push({ level, obj: { ...bindings }, msg: a });
    else lines.push({ level, obj: { ...bindings, ...a }, msg: b });
  };
  return {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (b) => captureLogger(lines, { ...bindings, ...b }),
  };
}
