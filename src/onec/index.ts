export { OnecClient, type OnecDelivery } from './onec-client.ts';
export * from './onec-types.ts';
export * from './onec-errors.ts';
export { LocalSessionPermits, type SessionPermit, type SessionPermits } from './session-permits.ts';
export { OnecClosedError } from './onec-session-pool.ts';
