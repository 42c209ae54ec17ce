export * from './whatsapp-connector.ts';
export * from './account-runner.ts';
export * from './auth-state-redis.ts';
export * from './connection-policy.ts';
export * from './inbound-normalize.ts';
export * from './inbound-identity.ts';
export * from './message-store.ts';
export * from './socket-factory.ts';
