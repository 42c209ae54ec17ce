/**
 * Keyword rules of chat routing (MIKO semantics): the first message of a new chat is
 * matched against the rules in order; the first rule with a keyword found in the text
 * picks the group (or a single operator) the chat is queued for. No match → the default
 * group.
 *
 * Matching is a case-insensitive substring match on normalized text:
 * - Unicode NFC (a `й` typed as `и` + combining breve matches a precomposed `й`);
 * - lower case with the Russian locale (`toLocaleLowerCase('ru')`);
 * - `ё` is the same letter as `е` (Russian users write either);
 * - runs of white space are one space.
 *
 * File format (JSON or YAML, chosen by extension, `.json` or `.yaml`/`.yml`):
 * ```yaml
 * rules:
 *   - keywords: [счёт, оплата, invoice]
 *     group: billing
 *   - keywords: [жалоба]
 *     operatorId: u-ivanov
 * ```
 * A bare list of rules is accepted too.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ValidationError } from '../core/index.ts';

export interface KeywordRule {
  /** Optional label for logs and the API. */
  id?: string;
  /** Any of these found in the text (after normalization) makes the rule match. */
  keywords: string[];
  /** Queue the chat for this group. */
  group?: string;
  /** Queue the chat for this operator (1C user id). */
  operatorId?: string;
}

export interface RuleMatch {
  rule: KeywordRule;
  index: number;
}

/** The text as rules compare it. */
export function normalizeForMatch(text: string): string {
  return text.normalize('NFC').toLocaleLowerCase('ru').replace(/ё/g, 'е').replace(/\s+/g, ' ').trim();
}

/** Most keywords one rule may hold (and at most 1000 rules). */
export const MAX_KEYWORDS_PER_RULE = 200;

/** Checks and copies rules; throws ValidationError (400 invalid_request) naming the bad field. */
export function validateRules(input: unknown): KeywordRule[] {
  const list = Array.isArray(input)
    ? input
    : input && typeof input === 'object' && Array.isArray((input as { rules?: unknown }).rules)
      ? (input as { rules: unknown[] }).rules
      : null;
  if (!list) throw new ValidationError('Field "rules" must be a list of rules.');
  if (list.length > 1000) throw new ValidationError('Field "rules" may hold at most 1000 rules.');
  return list.map((raw, i) => {
    const at = `rules.${i}`;
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new ValidationError(`Field "${at}" must be an object.`);
    const r = raw as Record<string, unknown>;
    if (!Array.isArray(r.keywords) || r.keywords.length === 0)
      throw new ValidationError(`Field "${at}.keywords" must be a non-empty list of strings.`);
    // Every first message is matched against every keyword: a rule of 25 000 was accepted (issue 11 item 11).
    if (r.keywords.length > MAX_KEYWORDS_PER_RULE)
      throw new ValidationError(`Field "${at}.keywords" may hold at most ${MAX_KEYWORDS_PER_RULE} keywords (it has ${r.keywords.length}).`);
    const keywords = r.keywords.map((k, j) => {
      if (typeof k !== 'string' || !normalizeForMatch(k))
        throw new ValidationError(`Field "${at}.keywords.${j}" must be a non-empty string.`);
      if (k.length > 200) throw new ValidationError(`Field "${at}.keywords.${j}" is longer than 200 characters.`);
      return k;
    });
    const group = optName(r.group, `${at}.group`);
    const operatorId = optName(r.operatorId, `${at}.operatorId`);
    if (!group && !operatorId) throw new ValidationError(`Field "${at}" needs "group" or "operatorId".`);
    const id = optName(r.id, `${at}.id`);
    return { ...(id ? { id } : {}), keywords, ...(group ? { group } : {}), ...(operatorId ? { operatorId } : {}) };
  });
}

function optName(v: unknown, field: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || !v.trim() || v.length > 200)
    throw new ValidationError(`Field "${field}" must be a non-empty string of at most 200 characters.`);
  return v.trim();
}

/** Compiled rules: keywords normalized once. First match wins. */
export class KeywordMatcher {
  private readonly compiled: { rule: KeywordRule; keys: string[] }[];

  constructor(readonly rules: readonly KeywordRule[]) {
    this.compiled = rules.map((rule) => ({ rule, keys: rule.keywords.map(normalizeForMatch).filter(Boolean) }));
  }

  match(text: string | null | undefined): RuleMatch | null {
    if (!text) return null;
    const t = normalizeForMatch(text);
    for (let i = 0; i < this.compiled.length; i++) {
      if (this.compiled[i].keys.some((k) => t.includes(k))) return { rule: this.compiled[i].rule, index: i };
    }
    return null;
  }
}

/** Reads rules from a JSON or YAML file. */
export async function loadRulesFile(path: string): Promise<{ rules: KeywordRule[]; text: string }> {
  const text = await readFile(path, 'utf8');
  const ext = extname(path).toLowerCase();
  let data: unknown;
  try {
    data = ext === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new ValidationError(
      `The routing rules file ${path} is not valid ${ext === '.json' ? 'JSON' : 'YAML'} (${e instanceof Error ? e.message.split('\n')[0] : String(e)}).`,
      'invalid_rules_file',
    );
  }
  return { rules: validateRules(data), text };
}
