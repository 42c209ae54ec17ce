--[[
  laneAckNext-3 for every key a gathering driver goes on with, in one call (issue 19: one
  script call per round instead of one per chat, so a round of many chats with a few
  messages each costs what a round of few chats costs). Per key, exactly laneAckNext-3:
  the ack is unconditional (those items reached their destination whoever holds the lock
  now); then, if the lock is still ours, the next items are read, and when none are left
  the lock is released and the key leaves `active` in the same step, so an append either
  is seen here or finds the lock free.

  Called with the number of keys first (1 + 2 per driven key).

  Input:
    KEYS[1] the lane's `active` zset
    then per key i (i = 1, 2, …):
    KEYS[2i] `q:<key>`, the key's pending set
    KEYS[2i+1] `lock:<key>`, the key's token lock

    ARGV[1] the driver's lock token
    ARGV[2] n: most items to read next, per key
    then per key i: ARGV[1 + 2i] upTo: acks every item with seq <= upTo ('' = nothing to ack),
    ARGV[2 + 2i] the key (its member in `active`)

  Output:
    flat per key, in order: status, count, item…; status -1 the lock is no longer ours
    (another driver continues the key), 0 nothing is left (the lock was released), 1 the
    next `count` items follow
]]
local token, n = ARGV[1], tonumber(ARGV[2])
local out = {}
local k = 2
local a = 3
while a <= #ARGV do
  local qKey, lockKey = KEYS[k], KEYS[k + 1]
  local upTo, key = ARGV[a], ARGV[a + 1]
  if upTo ~= '' then redis.call('ZREMRANGEBYSCORE', qKey, '-inf', upTo) end
  if redis.call('GET', lockKey) ~= token then
    out[#out + 1] = -1
    out[#out + 1] = 0
  else
    local items = redis.call('ZRANGE', qKey, 0, n - 1)
    if #items == 0 then
      redis.call('DEL', lockKey)
      redis.call('ZREM', KEYS[1], key)
      out[#out + 1] = 0
      out[#out + 1] = 0
    else
      out[#out + 1] = 1
      out[#out + 1] = #items
      for i = 1, #items do out[#out + 1] = items[i] end
    end
  end
  k = k + 2
  a = a + 2
end
return out
