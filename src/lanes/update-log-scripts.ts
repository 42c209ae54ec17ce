/**
 * Lua scripts of the update log (pull mode, onec-pull.md), in `./scripts/*.lua`. Every key a
 * script touches is passed in KEYS (Redis Cluster needs it: put a `{hash tag}` in
 * QUEUE_PREFIX to keep a lane and the log in one slot).
 *
 * - laneHandoff-4: items leave a lane's pending set into the log, fenced by the key's lock.
 * - updateLogAck-2: the committed pointer moves forward and what it covers is trimmed.
 */
import { luaScript } from '../redis/redis-scripts.ts';

export const HANDOFF_SCRIPT = luaScript(new URL('./scripts/laneHandoff-4.lua', import.meta.url));
export const UPDATE_LOG_ACK_SCRIPT = luaScript(new URL('./scripts/updateLogAck-2.lua', import.meta.url));
