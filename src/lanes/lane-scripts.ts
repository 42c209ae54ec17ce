/**
 * Lua scripts of the ordered lane (`./scripts/*.lua`, each with its KEYS, ARGV and return
 * value in its header). Each runs atomically in Redis, so dedupe + seq, and "release the
 * chat only when nothing is pending", can never interleave with another instance. Every key
 * a script touches is passed in KEYS; the lane's keys derive from one base
 * (`<prefix>:lane:<name>:`), so with a `{hash tag}` in the prefix they share one Redis
 * Cluster slot. The key's lock is a token lock (src/redis/token-lock.ts).
 */
import { luaScript } from '../redis/redis-scripts.ts';

export const LANE_SCRIPTS = [
  luaScript(new URL('./scripts/laneAppend.lua', import.meta.url)),
  luaScript(new URL('./scripts/laneReinsert-2.lua', import.meta.url)),
  luaScript(new URL('./scripts/laneAck-1.lua', import.meta.url)),
  luaScript(new URL('./scripts/laneReleaseIfEmpty-3.lua', import.meta.url)),
];
