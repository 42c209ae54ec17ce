--[[
  Acknowledges a key's delivered items and reads its next ones, in one call (issue 19:
  replaces laneAck-1 + ZRANGE head + laneReleaseIfEmpty-3). The ack is unconditional: those
  items reached their destination whoever holds the lock now. When nothing is left, the
  lock is released atomically with that, so an append either is seen here or finds the
  lock free for its own kick (as laneReleaseIfEmpty-3).

  Input:
    KEYS[1] `q:<key>`, the key's pending set
    KEYS[2] `lock:<key>`, the key's token lock
    KEYS[3] the lane's `active` zset

    ARGV[1] the driver's lock token
    ARGV[2] upTo: acks every item with seq <= upTo ('' = nothing to ack)
    ARGV[3] n: most items to read next
    ARGV[4] the key (its member in `active`)

  Output:
    {-1} the lock is no longer ours (another driver continues the key), {0} nothing is left
    (the lock was released), {1, item, …} the next items
]]
if ARGV[2] ~= '' then redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2]) end
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return {-1} end
local items = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[3]) - 1)
if #items == 0 then
  redis.call('DEL', KEYS[2])
  redis.call('ZREM', KEYS[3], ARGV[4])
  return {0}
end
local out = {1}
for i = 1, #items do out[i + 1] = items[i] end
return out
