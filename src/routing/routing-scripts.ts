/**
 * Lua for chat routing state (`./scripts/*.lua`; the shared parts in `./scripts/includes`) (one hash per chat: status, owner, group, queuedFor,
 * previousOwner, version). Every decision is one script, so concurrent callers on any
 * instance see a consistent chat: two operators replying at once give exactly one owner.
 * Empty strings stand for "none" (Redis hashes have no null).
 *
 * Outbox: a script that changes a chat also appends the routing event to the `routing`
 * lane (the per-chat sorted set of src/lanes/ordered-lane.ts) in the same atomic step.
 * Before, the event was appended by a second call after the script; a crash between the
 * two lost the event for good (the chat had changed, 1C never heard of it). Now the state
 * change and the event exist together or not at all. What may still be lost in a crash
 * is only the BullMQ *kick* that starts delivery at once — the lane's sweep finds the
 * pending chat (it is in `active`) and kicks it.
 *
 * Every key a script touches comes in KEYS (Redis Cluster routes by them). The lane keys
 * live under `<prefix>:lane:routing:` and the chat under `<prefix>:routing:`: in a
 * cluster both need the same slot, i.e. a `{hash tag}` in QUEUE_PREFIX (connector-api.md).
 *
 * The lane's dedupe key (`id:<event id>`) is NOT written: the event id holds the version
 * the script itself increments, so it is unknown before the call (KEYS must be known) and
 * the event is born here exactly once — there is no second append to deduplicate. 1C
 * still deduplicates by event id.
 */
import { luaScript } from '../redis/redis-scripts.ts';

/** routeMessage-6, routeClaim-5, routeTransfer-5, routeClose-5: the chat's keys, then the 4 lane keys of the outbox. */
export const ROUTING_SCRIPTS = [
  luaScript(new URL('./scripts/routeMessage-6.lua', import.meta.url)),
  luaScript(new URL('./scripts/routeClaim-5.lua', import.meta.url)),
  luaScript(new URL('./scripts/routeTransfer-5.lua', import.meta.url)),
  luaScript(new URL('./scripts/routeClose-5.lua', import.meta.url)),
];
