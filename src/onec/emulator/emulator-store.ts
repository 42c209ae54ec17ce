/**
 * What the emulated infobase stores: messages per chat, delivery statuses, routing events,
 * with per-item idempotency. Pure data, no HTTP.
 */
import type { EmulatorStoredRef, OnecEmulatorState } from './emulator-types.ts';

export interface ItemResult {
  id: string;
  status: 'accepted' | 'duplicate' | 'rejected';
  error?: string;
}

/** Thrown for a body the handler cannot work with at all (answered 400). */
export class BadBodyError extends Error {}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

export function defaultRejectRule(msg: Obj): string | null {
  const text = msg.text;
  return typeof text === 'string' && text.includes('#reject-me') ? 'rejected by the emulator rule (#reject-me)' : null;
}

/** The list under `key` of a JSON body, checked to be an array of objects with string ids. */
export function itemsOf(body: unknown, key: string, max: number): Obj[] {
  if (!isObj(body) || !Array.isArray(body[key])) throw new BadBodyError(`Тело запроса должно содержать массив "${key}".`);
  const items = body[key] as unknown[];
  if (items.length > max) throw new BadBodyError(`Слишком много элементов в "${key}": ${items.length}, не более ${max}.`);
  items.forEach((it, i) => {
    if (!isObj(it) || typeof it.id !== 'string' || it.id === '')
      throw new BadBodyError(`Элемент ${i} в "${key}" не содержит строкового "id".`);
  });
  return items as Obj[];
}

export class EmulatorStore {
  private readonly messagesById = new Map<string, Obj>();
  private readonly byChat = new Map<string, EmulatorStoredRef[]>();
  private readonly msgDuplicates: string[] = [];
  private msgDuplicateCount = 0;
  private readonly rejected: Array<{ id: string; error: string }> = [];
  private readonly statusKeys = new Set<string>();
  private readonly statusesById = new Map<string, string[]>();
  private readonly statusDuplicates: string[] = [];
  private statusDuplicateCount = 0;
  private readonly routingIds = new Set<string>();
  private readonly routingEvents: OnecEmulatorState['routing']['events'] = [];
  private readonly routingDuplicates: string[] = [];
  private routingDuplicateCount = 0;

  constructor(private readonly rejectWhen: (msg: Obj) => string | null) {}

  storeMessages(items: Obj[]): ItemResult[] {
    return items.map((m) => {
      const id = m.id as string;
      if (this.messagesById.has(id)) {
        this.msgDuplicateCount++;
        if (this.msgDuplicates.length < 10_000) this.msgDuplicates.push(id);
        return { id, status: 'duplicate' };
      }
      const chatId = str(m.chatId);
      const reason = chatId ? this.rejectWhen(m) : 'the message has no chatId';
      if (reason !== null) {
        this.rejected.push({ id, error: reason });
        return { id, status: 'rejected', error: reason };
      }
      this.messagesById.set(id, m);
      let list = this.byChat.get(chatId as string);
      if (!list) this.byChat.set(chatId as string, (list = []));
      list.push({ id, seq: typeof m.seq === 'number' ? m.seq : null });
      return { id, status: 'accepted' };
    });
  }

  /**
   * A status event is identified by the outbound id AND its status (one message goes
   * sent → delivered → read under the same id); a repeat of the same pair is a duplicate.
   */
  storeStatuses(items: Obj[]): ItemResult[] {
    return items.map((s) => {
      const id = s.id as string;
      const status = str(s.status) ?? '';
      const key = `${id}\u0000${status}`;
      if (this.statusKeys.has(key)) {
        this.statusDuplicateCount++;
        if (this.statusDuplicates.length < 10_000) this.statusDuplicates.push(id);
        return { id, status: 'duplicate' };
      }
      this.statusKeys.add(key);
      let list = this.statusesById.get(id);
      if (!list) this.statusesById.set(id, (list = []));
      list.push(status);
      return { id, status: 'accepted' };
    });
  }

  storeRouting(items: Obj[]): ItemResult[] {
    return items.map((e) => {
      const id = e.id as string;
      if (this.routingIds.has(id)) {
        this.routingDuplicateCount++;
        if (this.routingDuplicates.length < 10_000) this.routingDuplicates.push(id);
        return { id, status: 'duplicate' };
      }
      this.routingIds.add(id);
      this.routingEvents.push({
        id,
        chatId: str(e.chatId) ?? '',
        type: str(e.type) ?? '',
        operatorId: str(e.operatorId),
        group: str(e.group),
        // Recorded when sent (the connector's additive `actor`), so tests can see who acted.
        ...(str(e.actor) ? { actor: str(e.actor) } : {}),
      });
      return { id, status: 'accepted' };
    });
  }

  /** The full stored message (as 1C received it), or undefined. */
  message(id: string): Obj | undefined {
    return this.messagesById.get(id);
  }

  /** Messages stored so far (cheap, unlike `snapshot`, which copies every record). */
  get messagesStored(): number {
    return this.messagesById.size;
  }

  snapshot(): Pick<OnecEmulatorState, 'messages' | 'statuses' | 'routing'> {
    return {
      messages: {
        stored: this.messagesById.size,
        byChat: Object.fromEntries([...this.byChat].map(([k, v]) => [k, v.map((r) => ({ ...r }))])),
        duplicates: { count: this.msgDuplicateCount, ids: [...this.msgDuplicates] },
        rejected: this.rejected.map((r) => ({ ...r })),
      },
      statuses: {
        byId: Object.fromEntries([...this.statusesById].map(([k, v]) => [k, [...v]])),
        duplicates: { count: this.statusDuplicateCount, ids: [...this.statusDuplicates] },
      },
      routing: {
        events: this.routingEvents.map((e) => ({ ...e })),
        duplicates: { count: this.routingDuplicateCount, ids: [...this.routingDuplicates] },
      },
    };
  }
}
