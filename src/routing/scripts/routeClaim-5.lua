--[[
  The first operator who replies becomes the owner (the actor is that operator); the event
  goes to the routing lane in the same step (the outbox).

  Input:
    KEYS[1] the chat's routing hash
    KEYS[2] the routing lane's `seq` hash
    KEYS[3] the routing lane's `q:<chat>`
    KEYS[4] the routing lane's `active` zset
    KEYS[5] the routing lane's `kick:<chat>`

    ARGV[1] the operator id
    ARGV[2] at: ISO time (data: the event's `at`, the chat's `updatedAt`)
    ARGV[3] the default group
    ARGV[4] the chat id
    ARGV[5] nowMs: a stamp, the caller's clock (the lane's `active` score)
    ARGV[6] kickTtlS: the kick flag's TTL

  Output:
    {0} (no change: someone owns it) or {1, version, group, previousOwner, seq, kick}
]]
--- @include "includes/outbox"
local st = redis.call('HMGET', KEYS[1], 'status', 'owner', 'group', 'previousOwner')
local status, owner, group, prev = st[1] or '', st[2] or '', st[3] or '', st[4] or ''
if status == 'assigned' and owner ~= '' then return {0} end
if group == '' then group = ARGV[3] end
local v = redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('HSET', KEYS[1], 'status', 'assigned', 'owner', ARGV[1], 'group', group, 'queuedFor', '', 'previousOwner', prev, 'updatedAt', ARGV[2])
local seq, kick = outbox(2, ARGV[4], ARGV[5], ARGV[6], event(ARGV[4], v, 'assigned', ARGV[1], group, '', ARGV[2], ARGV[1]))
return {1, v, group, prev, seq, kick}
