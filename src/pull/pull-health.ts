/**
 * What `/readyz`, `doctor` and the metrics say about pull mode: how many updates wait, the
 * age of the oldest, and whether 1C still polls. Never a reason for "not ready": updates
 * wait safely in Redis for as long as 1C is away; this only says so, loudly.
 */
import type { UpdateLogStats } from '../lanes/update-log.js';

export interface PullHealth {
  /** 1C polled within ONEC_PULL_STALE_S. */
  ok: boolean;
  /** One sentence for an administrator. */
  detail: string;
}

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

export function pullHealth(st: UpdateLogStats, nowMs: number, staleS: number): PullHealth {
  const waiting =
    st.waiting === 0 ? 'no updates wait' : `${st.waiting} update(s) wait, the oldest for ${ago(nowMs - (st.oldestMs ?? nowMs))}`;
  if (st.lastPollMs === null)
    return {
      ok: false,
      detail: `Pull mode: 1C has not polled GET /api/v1/onec/updates yet; ${waiting}. Start the 1C job that fetches updates.`,
    };
  const since = nowMs - st.lastPollMs;
  if (since > staleS * 1000)
    return {
      ok: false,
      detail: `Pull mode: 1C has not polled for ${ago(since)} (ONEC_PULL_STALE_S=${staleS}); ${waiting}. Check the 1C job that fetches updates.`,
    };
  return { ok: true, detail: `Pull mode: 1C polled ${ago(since)} ago; ${waiting}.` };
}
