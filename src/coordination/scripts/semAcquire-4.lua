--[[
  One attempt at a permit of a fair (first come, first served) counting semaphore, on
  Redis's clock. Expired holders fall free; waiters that stopped asking lose their place;
  the caller keeps (or takes) a ticket and is admitted when its rank is below the free
  permits. A holder asking again renews its permit.

  Input:
    KEYS[1] holders: zset token → expiry (ms)
    KEYS[2] waiters: zset token → ticket
    KEYS[3] seen: zset waiter token → last attempt (ms)
    KEYS[4] counter: the last ticket given

    ARGV[1] limit: permits in all (may change between calls)
    ARGV[2] the caller's token
    ARGV[3] holdTtlMs: a permit not renewed for this long falls free
    ARGV[4] waiterTtlMs: a waiter that has not asked for this long loses its place

  Output:
    {1, 0} a permit is held, or {0, rank}: the caller's place in line (0 = next)
]]
local holders, waiters, seen, counter = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local limit, token = tonumber(ARGV[1]), ARGV[2]
local holdTtl, waiterTtl = tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', holders, '-inf', now)
local stale = redis.call('ZRANGEBYSCORE', seen, '-inf', now - waiterTtl)
for _, t in ipairs(stale) do
  if t ~= token then redis.call('ZREM', waiters, t); redis.call('ZREM', seen, t) end
end
if redis.call('ZSCORE', holders, token) then
  redis.call('ZADD', holders, now + holdTtl, token)
  return {1, 0}
end
if not redis.call('ZSCORE', waiters, token) then
  redis.call('ZADD', waiters, redis.call('INCR', counter), token)
end
redis.call('ZADD', seen, now, token)
local rank = redis.call('ZRANK', waiters, token)
local free = limit - redis.call('ZCARD', holders)
if rank < free then
  redis.call('ZREM', waiters, token)
  redis.call('ZREM', seen, token)
  redis.call('ZADD', holders, now + holdTtl, token)
  return {1, 0}
end
return {0, rank}
