export * from './message.ts';
export * from './ids.ts';
export * from './errors.ts';
export * from './interfaces.ts';
export * from './logger.ts';
export * from './backoff.ts';
export * from './abort.ts';
export * from './redact-url.ts';
export type { AccessActor, OperatorAccess } from './operator-access.ts';
