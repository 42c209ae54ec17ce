/**
 * Receipts of what we sent → StatusSink events of our outbound ids. Baileys reports them
 * (Socket/messages-recv.js handleReceipt) as `messages.update` with `update.status` for
 * one-to-one chats (DELIVERY_ACK → delivered, READ / PLAYED → read) and as
 * `message-receipt.update` for groups (receiptTimestamp → delivered, read/played → read).
 * Only WhatsApp ids we sent (the id map in Redis) become events.
 */
import { proto, toNumber, type MessageUserReceiptUpdate, type WAMessageUpdate } from '@whiskeysockets/baileys';
import type { StatusEvent } from '../../core/index.ts';

type Status = 'delivered' | 'read';

export interface ReceiptCandidate {
  waId: string;
  status: Status;
  at: string;
}

function iso(seconds: unknown, fallback: string): string {
  const n = seconds === null || seconds === undefined ? 0 : toNumber(seconds as number);
  return n > 0 ? new Date(n * 1000).toISOString() : fallback;
}

/** Pure: which of Baileys' updates are receipts of messages from us. */
export function receiptCandidates(
  updates: WAMessageUpdate[] | undefined,
  receipts: MessageUserReceiptUpdate[] | undefined,
  now: string,
): ReceiptCandidate[] {
  const out: ReceiptCandidate[] = [];
  const S = proto.WebMessageInfo.Status;
  for (const u of updates ?? []) {
    const id = u.key?.id;
    const status = u.update?.status;
    if (!id || !u.key.fromMe || status === null || status === undefined) continue;
    const mapped: Status | null = status === S.DELIVERY_ACK ? 'delivered' : status === S.READ || status === S.PLAYED ? 'read' : null;
    if (mapped) out.push({ waId: id, status: mapped, at: iso(u.update.messageTimestamp, now) });
  }
  for (const r of receipts ?? []) {
    const id = r.key?.id;
    if (!id || !r.key.fromMe) continue;
    const read = r.receipt.readTimestamp ?? r.receipt.playedTimestamp;
    if (read) out.push({ waId: id, status: 'read', at: iso(read, now) });
    else if (r.receipt.receiptTimestamp) out.push({ waId: id, status: 'delivered', at: iso(r.receipt.receiptTimestamp, now) });
  }
  return out;
}

/** Maps candidates to our outbound ids (unknown WhatsApp ids are dropped). */
export async function toStatusEvents(
  candidates: ReceiptCandidate[],
  outboundIdOf: (waId: string) => Promise<string | null>,
): Promise<StatusEvent[]> {
  const events: StatusEvent[] = [];
  for (const c of candidates) {
    const id = await outboundIdOf(c.waId);
    if (id) events.push({ id, status: c.status, at: c.at, nativeIds: [c.waId] });
  }
  return events;
}
