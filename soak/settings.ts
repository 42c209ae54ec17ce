/**
 * Account settings and routing of the soak (issue 16): `soak_shop_bot` greets every new
 * private chat; `soak_help_bot` is always closed, so each of its private chats gets one
 * out-of-hours reply (one closed period for the whole run: `…:auto:closed:long`); every
 * chat whose first message says "soak" is queued for `sales`, which assigns round robin
 * among its operators who are logged in (u-ivanov, u-sidorov), at most 3 open chats each.
 * Both files are loaded by each instance at start (ACCOUNT_SETTINGS_FILE, ROUTING_RULES_FILE).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChatTrack } from './customers.ts';

export const AUTO_TEXTS = {
  greeting: 'Здравствуйте! Мы скоро ответим. [soak auto greeting]',
  closed: 'Сейчас мы закрыты. [soak auto closed]',
};
export const RR_GROUP = 'sales';
export const RR_MEMBERS = new Set(['u-ivanov', 'u-sidorov']);
export const RR_CAP = 3;

const SETTINGS = `accounts:
  soak_shop_bot:
    autoReplies:
      greeting: "${AUTO_TEXTS.greeting}"
  soak_help_bot:
    workingHours: { mon: [], tue: [], wed: [], thu: [], fri: [], sat: [], sun: [] }
    autoReplies:
      outOfHours: "${AUTO_TEXTS.closed}"
groups:
  ${RR_GROUP}:
    assignment: round_robin
    maxOpenPerOperator: ${RR_CAP}
    returnAfterLogoutMinutes: 1
`;

const RULES = `rules:
  - keywords: [soak]
    group: ${RR_GROUP}
`;

/** Writes both files into `dir`; returns the environment that points the instances at them. */
export function writeSoakSettings(dir: string): Record<string, string> {
  const settings = join(dir, 'account-settings.yaml');
  const rules = join(dir, 'routing-rules.yaml');
  writeFileSync(settings, SETTINGS);
  writeFileSync(rules, RULES);
  return { ACCOUNT_SETTINGS_FILE: settings, ROUTING_RULES_FILE: rules };
}

/** The auto-reply a chat gets (its id and text), or null when none. */
export function autoReplyOf(c: ChatTrack): { id: string; text: string; firstOnly: boolean } | null {
  if (!c.tg?.private) return null;
  if (c.tg.bot.username === 'soak_shop_bot') return { id: `${c.key}:auto:greeting`, text: AUTO_TEXTS.greeting, firstOnly: true };
  if (c.tg.bot.username === 'soak_help_bot') return { id: `${c.key}:auto:closed:long`, text: AUTO_TEXTS.closed, firstOnly: false };
  return null;
}
