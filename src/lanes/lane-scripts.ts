/**
 * Lua scripts of the ordered lane (`./scripts/*.lua`, each with its KEYS, ARGV and return
 * value in its header). Each runs atomically in Redis, so dedupe + seq, and "release the
 * chat only when nothing is pending", can never interleave with another instance. Every key
 * a script touches is passed in KEYS; the lane's keys derive from one base
 * (`<prefix>:lane:<name>:`), so with a `{hash tag}` in the prefix they share one Redis
 * Cluster slot. The key's lock is a token lock (src/redis/token-lock.ts).
 *
 * Issue 19 (push-mode pipeline): laneStart-5 merges "kick started + lock + head read" and
 * laneAckNext-3 "ack + next head + release if empty" (3 round trips → 1 each; laneAckNextMany
 * does it for all of a driver's keys in one call); lanePeek-3
 * lets a gathering lane's kick wait for a driver slot without the lock; laneClaim-3 lets a
 * driver take other keys waiting for their kick into its batch; laneSweep-1 looks at a
 * bounded slice of `active` per round. laneClaim-3 and laneSweep-1 are the documented
 * exception to "every key in KEYS": the keys they touch are only known from data (`ready`,
 * `active`), so they build them from the lane's base, which they check is the prefix of
 * their KEYS[1] (header line `Keys derived from data:`, checked by
 * test/redis/scripts-convention.test.ts).
 */
import { luaScript } from '../redis/redis-scripts.ts';

export const LANE_SCRIPTS = [
  luaScript(new URL('./scripts/laneAppend.lua', import.meta.url)),
  luaScript(new URL('./scripts/laneReinsert-2.lua', import.meta.url)),
  luaScript(new URL('./scripts/laneAck-1.lua', import.meta.url)),
  luaScript(new URL('./scripts/laneReleaseIfEmpty-3.lua', import.meta.url)),
  luaScript(new URL('./scripts/laneStart-5.lua', import.meta.url)),
  luaScript(new URL('./scripts/laneAckNext-3.lua', import.meta.url)),
  luaScript(new URL('./scripts/laneAckNextMany.lua', import.meta.url)),
  luaScript(new URL('./scripts/lanePeek-3.lua', import.meta.url)),
  luaScript(new URL('./scripts/laneClaim-3.lua', import.meta.url)),
  luaScript(new URL('./scripts/laneSweep-1.lua', import.meta.url)),
];
