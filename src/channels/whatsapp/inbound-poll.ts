/**
 * A poll vote (`pollUpdateMessage`) → the options the voter chose. rc14 no longer decrypts
 * votes itself (the code in Utils/process-message.js is commented out), so we do what it
 * did with Baileys' own helpers: find the poll's creation message (kept quotable in our
 * store when it arrived), take its `messageSecret`, decryptPollVote with the creator and
 * voter jids (getKeyAuthor), and map the option hashes back with getAggregateVotesInPollMessage.
 */
import {
  decryptPollVote,
  getAggregateVotesInPollMessage,
  getKeyAuthor,
  jidNormalizedUser,
  type WAMessage,
  type proto,
} from '@whiskeysockets/baileys';
import { unwrapContent, type PollVote, type PollVoteOutcome } from './inbound-normalize.ts';

export type { PollVote };

export type PollLookup = (messageId: string) => Promise<WAMessage | null>;

/** Null when the poll is unknown here (expired, created on our phone) or the vote cannot be decrypted. */
export async function decodePollVote(
  msg: WAMessage,
  update: proto.Message.IPollUpdateMessage,
  ctx: { chatKey: string; meId: string; lookup: PollLookup },
): Promise<PollVoteOutcome> {
  const creationKey = update.pollCreationMessageKey;
  if (!creationKey?.id || !update.vote?.encPayload || !update.vote.encIv) return { unknown: 'no_key' };
  const target = `${ctx.chatKey}:${creationKey.id}`;
  const creation = await ctx.lookup(target);
  if (!creation?.message) return { unknown: 'unknown_poll' };
  const content = unwrapContent(creation.message);
  const poll = content?.pollCreationMessage ?? content?.pollCreationMessageV2 ?? content?.pollCreationMessageV3;
  const secret = creation.message.messageContextInfo?.messageSecret ?? content?.messageContextInfo?.messageSecret;
  if (!poll || !secret) return { unknown: 'no_secret' };
  const meId = jidNormalizedUser(ctx.meId) || ctx.meId;
  try {
    const vote = decryptPollVote(update.vote, {
      pollCreatorJid: getKeyAuthor(creation.key, meId),
      pollMsgId: creationKey.id,
      pollEncKey: secret,
      voterJid: getKeyAuthor(msg.key, meId),
    });
    const tally = getAggregateVotesInPollMessage(
      { message: { pollCreationMessage: { options: poll.options ?? [] } }, pollUpdates: [{ pollUpdateMessageKey: msg.key, vote }] },
      meId,
    );
    return { vote: { question: poll.name ?? '', options: tally.filter((t) => t.voters.length > 0).map((t) => t.name), target } };
  } catch (err) {
    return { unknown: 'decrypt_failed', detail: err instanceof Error ? err.message : String(err) };
  }
}
