/**
 * Lua scripts of the seat manager (seats.ts), in `./scripts/*.lua` (the common start in
 * `./scripts/includes/seatPrelude.lua`). Each runs atomically in Redis, so seats are counted
 * across every connector instance sharing the Redis.
 *
 * Keys under `base` = `<prefix>:seats:<feature>:`, every one passed in KEYS (use a `{tag}`
 * prefix on Redis Cluster so they share a slot):
 *   users        ZSET workstation user → last heartbeat (ms), max over the user's sessions
 *   since        HASH user → when the seat was taken (ms)
 *   meta         HASH user → JSON of the latest acquire's meta
 *   seen         ZSET user → last acquire attempt (ms), for the forecast (pruned to history)
 *   sess:<user>  ZSET session id → last heartbeat (ms); the seat is held while one is alive
 *   day:<n>      SET users who attempted on UTC day n (days since 1970-01-01), TTL = history
 *
 * Time is Redis TIME inside the scripts (one clock for all instances), unless a test passes
 * its own clock.
 */
import { luaScript } from '../redis/redis-scripts.ts';

export const SEAT_SCRIPTS = {
  acquire: luaScript(new URL('./scripts/seatAcquire-6.lua', import.meta.url)),
  heartbeat: luaScript(new URL('./scripts/seatHeartbeat-5.lua', import.meta.url)),
  release: luaScript(new URL('./scripts/seatRelease-5.lua', import.meta.url)),
  holders: luaScript(new URL('./scripts/seatHolders.lua', import.meta.url)),
  demand: luaScript(new URL('./scripts/seatDemand.lua', import.meta.url)),
} as const;
