/**
 * The license report (licensing.md, "The license report"): `GET /api/v1/licenses` and
 * `chat-connector license report [--json]`.
 *
 * Host id; the document (id, licensee, expiry, a warning when it expires within 14 days);
 * each feature with the name the product shows and its state; for 48 and 49 total, used,
 * free and who holds seats since when; and the forecast: distinct workstation users who
 * tried to take a seat per client kind over the last 7 and 30 days, against the seats owned.
 */
import { describeError } from '../core/index.ts';
import {
  CLIENT_OF_SEAT_FEATURE,
  FEATURE_IDS,
  FEATURE_NAMES,
  isSeatFeature,
  type ClientKind,
  type FeatureId,
  type SeatFeatureId,
} from './features.ts';
import { chatModuleGranted, type FeatureState, type LicenseCheck } from './license-document.ts';
import type { SeatDemand, SeatHolder, SeatManager } from './seats.ts';

export interface SeatReport {
  total: number;
  used: number;
  free: number;
  holders: SeatHolder[];
}

export interface FeatureReport {
  id: FeatureId;
  name: string;
  state: FeatureState;
  /** What the document lists (0 when absent). */
  listed: number;
  code: string | null;
  reason: string | null;
  /** For 48 and 49; null for host features, or when Redis did not answer. */
  seats: SeatReport | null;
}

export interface ForecastEntry {
  feature: SeatFeatureId;
  client: ClientKind;
  /** Seats owned (granted by a valid document). */
  seats: number;
  users7d: number;
  users30d: number;
  /** Users beyond the seats owned (0 when enough). */
  shortage7d: number;
  shortage30d: number;
  /** Distinct users per UTC day, last 30 days, oldest first. */
  daily: SeatDemand['daily'];
  summary: string;
}

export interface LicenseReport {
  generatedAt: string;
  hostId: string;
  chatsLicensed: boolean;
  license: {
    file: string | null;
    valid: boolean;
    code: string | null;
    reason: string | null;
    id: string | null;
    licensee: string | null;
    issuedAt: string | null;
    expiresAt: string | null;
    /** Whole days left (rounded down); null when it never expires or is unreadable. */
    expiresInDays: number | null;
  };
  features: FeatureReport[];
  forecast: ForecastEntry[];
  warnings: string[];
}

export interface BuildReportOptions {
  check: LicenseCheck;
  /** Null when there is no Redis to ask (seat numbers are then left out with a warning). */
  seats: SeatManager | null;
  now?: Date;
  /** Warn when the license expires within this many days (default 14). */
  expiryWarningDays?: number;
}

const DAY_MS = 86_400_000;

const WHERE: Record<SeatFeatureId, string> = { 48: 'in 1C sessions', 49: 'in the external panel' };

export async function buildLicenseReport(opts: BuildReportOptions): Promise<LicenseReport> {
  const now = opts.now ?? new Date();
  const { check } = opts;
  const p = check.payload;
  const warnings: string[] = [];
  if (!check.valid && check.reason) warnings.push(check.reason);
  let expiresInDays: number | null = null;
  if (p?.expiresAt) {
    const left = Date.parse(p.expiresAt) - now.getTime();
    expiresInDays = Math.max(0, Math.floor(left / DAY_MS));
    const warnDays = opts.expiryWarningDays ?? 14;
    if (left > 0 && left <= warnDays * DAY_MS) {
      warnings.push(`License ${p.id} expires at ${p.expiresAt}, in ${plural(expiresInDays, 'day')}; ask for a renewal.`);
    }
  }

  const features: FeatureReport[] = [];
  const forecast: ForecastEntry[] = [];
  for (const f of FEATURE_IDS) {
    const s = check.features[f];
    const fr: FeatureReport = {
      id: f,
      name: FEATURE_NAMES[f],
      state: s.state,
      listed: s.listed,
      code: s.code,
      reason: s.reason,
      seats: null,
    };
    features.push(fr);
    if (!isSeatFeature(f)) continue;
    const total = s.granted;
    if (!opts.seats) {
      continue;
    }
    try {
      const holders = await opts.seats.holders(f);
      fr.seats = { total, used: holders.length, free: Math.max(0, total - holders.length), holders };
      const d = await opts.seats.demand(f, [7, 30], 30);
      forecast.push(forecastEntry(f, total, d));
    } catch (e) {
      warnings.push(`Seat usage of feature ${f} is unknown: ${describeError(e)}`);
    }
  }
  if (!opts.seats) warnings.push('Seat usage is unknown: no Redis to ask.');
  for (const fc of forecast) if (fc.shortage7d > 0) warnings.push(fc.summary);

  return {
    generatedAt: now.toISOString(),
    hostId: check.hostId,
    chatsLicensed: chatModuleGranted(check),
    license: {
      file: check.file,
      valid: check.valid,
      code: check.code,
      reason: check.reason,
      id: p?.id ?? null,
      licensee: p?.licensee ?? null,
      issuedAt: p?.issuedAt ?? null,
      expiresAt: p?.expiresAt ?? null,
      expiresInDays,
    },
    features,
    forecast,
    warnings,
  };
}

function forecastEntry(f: SeatFeatureId, seats: number, d: SeatDemand): ForecastEntry {
  const users7d = d.distinctUsers[7] ?? 0;
  const users30d = d.distinctUsers[30] ?? 0;
  const shortage7d = Math.max(0, users7d - seats);
  const shortage30d = Math.max(0, users30d - seats);
  let verdict: string;
  if (shortage7d > 0) verdict = `${shortage7d} short this week`;
  else if (shortage30d > 0) verdict = `enough this week, ${shortage30d} short over 30 days`;
  else verdict = 'enough';
  const summary =
    `${plural(users7d, 'user')} worked ${WHERE[f]} this week (${users30d} over the last 30 days); ` +
    `${plural(seats, 'seat')} of ${f}: ${verdict}.`;
  return {
    feature: f,
    client: CLIENT_OF_SEAT_FEATURE[f],
    seats,
    users7d,
    users30d,
    shortage7d,
    shortage30d,
    daily: d.daily,
    summary,
  };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

const STATE_TEXT: Record<FeatureState, string> = {
  granted: 'granted',
  missing: 'missing',
  wrong_host: 'wrong host',
  expired: 'expired',
  invalid: 'invalid',
};

/** The report as text lines for the CLI. */
export function renderLicenseReport(r: LicenseReport): string[] {
  const out: string[] = [];
  out.push(`Host id: ${r.hostId}`);
  const l = r.license;
  if (l.id) {
    const exp = l.expiresAt ? `expires ${l.expiresAt} (in ${plural(l.expiresInDays ?? 0, 'day')})` : 'never expires';
    out.push(`License: ${l.id}${l.licensee ? ` for ${l.licensee}` : ''}, issued ${l.issuedAt}, ${exp}`);
  } else {
    out.push(`License: none${l.file ? ` (${l.file})` : ''}`);
  }
  out.push(l.valid ? 'Document: valid' : `Document: NOT valid — ${l.reason} [${l.code}]`);
  out.push(`Chat module: ${r.chatsLicensed ? 'licensed' : 'NOT licensed'}`);
  out.push('Features:');
  for (const f of r.features) {
    let line = `  ${f.id} ${f.name}: ${STATE_TEXT[f.state]}`;
    if (f.seats) line += `; seats ${f.seats.used}/${f.seats.total} used, ${f.seats.free} free`;
    if (f.state !== 'granted' && f.code === 'missing' && f.reason) line += ` — ${f.reason}`;
    out.push(line);
    for (const h of f.seats?.holders ?? []) {
      const sess = h.sessions > 1 ? `, ${h.sessions} sessions` : '';
      out.push(`      ${h.user} since ${h.since}, last seen ${h.lastSeen}${sess}`);
    }
  }
  if (r.forecast.length) {
    out.push('Forecast:');
    for (const fc of r.forecast) out.push(`  ${fc.feature} (${fc.client}): ${fc.summary}`);
  }
  if (r.warnings.length) {
    out.push('Warnings:');
    for (const w of r.warnings) out.push(`  ! ${w}`);
  }
  return out;
}

export interface LicenseReporterOptions {
  /** The current document check, e.g. `() => gate.state().document`. */
  check: () => LicenseCheck;
  seats: SeatManager | null;
  now?: () => Date;
}

/** `deps.report` for `licenseRoutes`: builds a fresh report on each call. */
export function licenseReporter(opts: LicenseReporterOptions): () => Promise<LicenseReport> {
  return () => buildLicenseReport({ check: opts.check(), seats: opts.seats, now: opts.now?.() });
}
