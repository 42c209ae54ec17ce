/**
 * The product's license features (licensing.md, "Features"): ids, the names the product
 * shows, and what each is bound to.
 */

export type FeatureId = 31 | 42 | 48 | 49;
export type HostFeatureId = 31 | 42;
export type SeatFeatureId = 48 | 49;

export const FEATURE_IDS: readonly FeatureId[] = [31, 42, 48, 49];
export const HOST_FEATURES: readonly HostFeatureId[] = [31, 42];
export const SEAT_FEATURES: readonly SeatFeatureId[] = [48, 49];

/** Names exactly as the product shows them. */
export const FEATURE_NAMES: Readonly<Record<FeatureId, string>> = {
  31: 'Модуль журнал звонков',
  42: 'Интеграция 1С с чатами',
  48: 'Интеграция 1С и телефонии ПРОФ (сеанс в 1С)',
  49: 'Интеграция 1С и телефонии ПРОФ (сеанс в внешней панели)',
};

/** The operator client kinds of `POST /api/v1/operators/login` and the seat feature each needs. */
export type ClientKind = '1c' | 'panel';
export const SEAT_FEATURE_OF_CLIENT: Readonly<Record<ClientKind, SeatFeatureId>> = { '1c': 48, panel: 49 };
export const CLIENT_OF_SEAT_FEATURE: Readonly<Record<SeatFeatureId, ClientKind>> = { 48: '1c', 49: 'panel' };

export function isSeatFeature(n: unknown): n is SeatFeatureId {
  return n === 48 || n === 49;
}

/** `42 (Интеграция 1С с чатами)` — how messages name a feature. */
export function featureLabel(f: FeatureId): string {
  return `${f} (${FEATURE_NAMES[f]})`;
}
