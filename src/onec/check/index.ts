export { runOnecCheck, formatOutcome, formatSummary, CHECKS, CHECK_NAMES, type OnecCheckOptions } from './run-onec-check.ts';
export type { CheckOutcome, OnecCheckReport, CheckMark } from './check-types.ts';
export type { Credentials, CallRecord } from './check-http.ts';
