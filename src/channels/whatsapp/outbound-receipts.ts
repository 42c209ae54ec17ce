/**
 * Receipts of what we sent → StatusSink events of our outbound ids. Baileys reports them
 * (Socket/messages-recv.js handleReceipt) as `messages.update` with `update.status` for
 * one-to-one chats (DELIVERY_ACK → delivered, READ / PLAYED → read) and as
 * `message-receipt.update` for groups (receiptTimestamp → delivered, read/played → read).
 * A late send error (status ERROR) becomes `failed` with a code and a sentence.
 * Only WhatsApp ids we sent (the id map in Redis) become events.
 */
import { proto, toNumber, type MessageUserReceiptUpdate, type WAMessageUpdate } from '@whiskeysockets/baileys';
import type { StatusEvent } from '../../core/index.ts';

type Status = 'delivered' | 'read' | 'failed';

export interface ReceiptCandidate {
  waId: string;
  status: Status;
  at: string;
  /** For `failed`: the typed code and the sentence. */
  errorCode?: string;
  error?: string;
}

/**
 * A send error WhatsApp reported after the message left (Socket/messages-recv.js
 * handleBadAck: `messages.update` with status ERROR and the server's error code in
 * `messageStubParameters[0]`, plus "Your account has been restricted" when the sender is
 * time-locked) → our code and a sentence for 1C and the operator.
 */
export function describeAckError(params: readonly unknown[] | null | undefined): { errorCode: string; error: string } {
  const code = params?.[0] === undefined || params[0] === null ? '' : String(params[0]);
  const restricted = (params ?? []).some((p) => typeof p === 'string' && /restricted/i.test(p));
  if (code === '463' || restricted)
    return {
      errorCode: 'whatsapp_account_restricted',
      error:
        'WhatsApp refused the message (463): this WhatsApp account is restricted from messaging this person ' +
        '(new chats are blocked; existing chats still work). Check the account on the phone.',
    };
  if (code === '479')
    return {
      errorCode: 'whatsapp_rejected_invalid',
      error: "WhatsApp rejected the message as invalid (479), usually a stale session of the recipient's device; send it again later.",
    };
  return {
    errorCode: 'whatsapp_rejected',
    error: `WhatsApp refused the message after it was sent${code ? ` (error ${code})` : ''}.`,
  };
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
    if (status === S.ERROR) {
      out.push({
        waId: id,
        status: 'failed',
        at: now,
        ...describeAckError(u.update.messageStubParameters as readonly unknown[] | null | undefined),
      });
      continue;
    }
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
    if (!id) continue;
    if (c.status === 'failed') events.push({ id, status: 'failed', at: c.at, error: c.error, errorCode: c.errorCode, nativeIds: [c.waId] });
    else events.push({ id, status: c.status, at: c.at, nativeIds: [c.waId] });
  }
  return events;
}
