--[[
  Close: the owner becomes the previous owner (a new message reopens the chat with them).
  The actor's right is checked here, as for a transfer. The event goes to the routing lane
  in the same step (the outbox).

  Input:
    KEYS[1] the chat's routing hash
    KEYS[2] the routing lane's `seq` hash
    KEYS[3] the routing lane's `q:<chat>`
    KEYS[4] the routing lane's `active` zset
    KEYS[5] the routing lane's `kick:<chat>`

    ARGV[1] at: ISO time (data: the event's `at`, the chat's `updatedAt`)
    ARGV[2] actorKind (api|operator|system)
    ARGV[3] the actor
    ARGV[4] the actor's groups, a JSON array
    ARGV[5] the chat id
    ARGV[6] nowMs: a stamp, the caller's clock (the lane's `active` score)
    ARGV[7] kickTtlS: the kick flag's TTL

  Output:
    {-1} (unknown chat), {-2} (the actor may not act on it), {0} (already closed) or
    {1, version, group, previousOwner, seq, kick}
]]
--- @include "includes/outbox"
--- @include "includes/mayAct"
local st = redis.call('HMGET', KEYS[1], 'status', 'owner', 'group', 'previousOwner', 'queuedFor')
local status, owner, group, prev, qf = st[1] or '', st[2] or '', st[3] or '', st[4] or '', st[5] or ''
if status == '' then return {-1} end
if not mayAct(ARGV[2], ARGV[3], ARGV[4], status, owner, group, qf) then
  -- Closing a closed chat again changes nothing; only its previous owner and the API learn that.
  if status == 'closed' and prev == ARGV[3] then return {0} end
  return {-2}
end
if status == 'closed' then return {0} end
if owner ~= '' then prev = owner end
local v = redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('HSET', KEYS[1], 'status', 'closed', 'owner', '', 'queuedFor', '', 'previousOwner', prev, 'updatedAt', ARGV[1])
local seq, kick = outbox(2, ARGV[5], ARGV[6], ARGV[7], event(ARGV[5], v, 'closed', '', group, '', ARGV[1], ARGV[3]))
return {1, v, group, prev, seq, kick}
