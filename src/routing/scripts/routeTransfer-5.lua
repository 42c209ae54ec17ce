--[[
  Transfer to an operator (assigned to them) or to a group (queued for it). The actor's
  right is checked here, on the state it changes, so an owner changing in between cannot
  slip through a check made before the call. The event goes to the routing lane in the
  same step (the outbox).

  Input:
    KEYS[1] the chat's routing hash
    KEYS[2] the routing lane's `seq` hash
    KEYS[3] the routing lane's `q:<chat>`
    KEYS[4] the routing lane's `active` zset
    KEYS[5] the routing lane's `kick:<chat>`

    ARGV[1] toOperator ('' = to a group)
    ARGV[2] toGroup
    ARGV[3] at: ISO time (data: the event's `at`, the chat's `updatedAt`)
    ARGV[4] actorKind (api|operator|system)
    ARGV[5] the actor
    ARGV[6] the actor's groups, a JSON array
    ARGV[7] comment
    ARGV[8] the chat id
    ARGV[9] nowMs: a stamp, the caller's clock (the lane's `active` score)
    ARGV[10] kickTtlS: the kick flag's TTL

  Output:
    {-1} (unknown chat), {-2} (the actor may not act on it) or
    {1, version, status, owner, group, previousOwner, seq, kick}
]]
--- @include "includes/outbox"
--- @include "includes/mayAct"
local st = redis.call('HMGET', KEYS[1], 'status', 'owner', 'group', 'previousOwner', 'queuedFor')
local status, owner, group, prev, qf = st[1] or '', st[2] or '', st[3] or '', st[4] or '', st[5] or ''
if status == '' then return {-1} end
if not mayAct(ARGV[4], ARGV[5], ARGV[6], status, owner, group, qf) then return {-2} end
if owner ~= '' then prev = owner end
if ARGV[1] ~= '' then
  status = 'assigned'; owner = ARGV[1]
  if ARGV[2] ~= '' then group = ARGV[2] end
else
  status = 'queued'; owner = ''; group = ARGV[2]
end
local v = redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('HSET', KEYS[1], 'status', status, 'owner', owner, 'group', group, 'queuedFor', '', 'previousOwner', prev, 'updatedAt', ARGV[3])
local seq, kick = outbox(2, ARGV[8], ARGV[9], ARGV[10], event(ARGV[8], v, 'transferred', owner, group, ARGV[7], ARGV[3], ARGV[5]))
return {1, v, status, owner, group, prev, seq, kick}
