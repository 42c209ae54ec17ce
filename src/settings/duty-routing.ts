/**
 * The duty operator and duty group (account settings `dutyOperator`, `dutyGroup`): a new
 * chat goes to them instead of its group's queue when the account is closed (working
 * hours) or when nobody of the chat's group is logged in now.
 *
 * The duty operator gets the chat assigned at once when they are online, or when there is
 * no duty group to fall back to (they are on duty: the chat waits for them, visible in
 * their feed when they log in). Otherwise the duty group gets it queued.
 * Installed on ChatRouting as `newChatTarget` (asked once per new chat).
 */
import type { InboundMessage } from '../core/index.ts';
import type { SettingsStore } from './settings-store.ts';
import { WorkingHours } from './working-hours.ts';

export interface Presence {
  isOnline(operatorId: string): Promise<boolean>;
  groupMembers(group: string): Promise<string[]>;
}

export type NewChatTarget = { operatorId: string } | { group: string } | null;

export function dutyTarget(
  store: Pick<SettingsStore, 'account'>,
  presence: Presence,
  now: () => number = Date.now,
): (first: InboundMessage, group: string) => Promise<NewChatTarget> {
  return async (first, group) => {
    const s = await store.account(first.account);
    if (!s.dutyOperator && !s.dutyGroup) return null;
    const closed = s.workingHours !== null && !new WorkingHours(s).state(now()).open;
    if (!closed && (await presence.groupMembers(group)).length > 0) return null;
    if (s.dutyOperator && (!s.dutyGroup || (await presence.isOnline(s.dutyOperator)))) return { operatorId: s.dutyOperator };
    return s.dutyGroup ? { group: s.dutyGroup } : null;
  };
}
