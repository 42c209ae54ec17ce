/**
 * Lua scripts of the update log (pull mode, onec-pull.md), in `./scripts/*.lua`. Every key a
 * script touches is passed in KEYS (Redis Cluster needs it: put a `{hash tag}` in
 * QUEUE_PREFIX to keep a lane and the log in one slot).
 *
 * - laneHandoff-4: items leave a lane's pending set into the log, fenced by the key's lock.
 * - updateLogAck-2: the committed pointer moves forward and what it covers is trimmed.
 * - QUEUE_SHARDS > 1, the log in another slot than the shard's lane: laneHandBegin-2 records
 *   the hand-off in the lane (fenced by the lock), updateLogAppendOnce-3 adds it to the log
 *   once per hand-off id, laneHandEnd-2 drops exactly its items from the lane.
 */
import { luaScript } from '../redis/redis-scripts.ts';

export const HANDOFF_SCRIPT = luaScript(new URL('./scripts/laneHandoff-4.lua', import.meta.url));
export const UPDATE_LOG_ACK_SCRIPT = luaScript(new URL('./scripts/updateLogAck-2.lua', import.meta.url));
export const UPDATE_LOG_APPEND_SCRIPT = luaScript(new URL('./scripts/updateLogAppendOnce-3.lua', import.meta.url));
export const HAND_BEGIN_SCRIPT = luaScript(new URL('./scripts/laneHandBegin-2.lua', import.meta.url));
export const HAND_END_SCRIPT = luaScript(new URL('./scripts/laneHandEnd-2.lua', import.meta.url));
