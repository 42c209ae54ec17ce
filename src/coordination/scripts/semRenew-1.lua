--[[
  Renews a semaphore permit to holdTtlMs from now (Redis's clock), while it is still held.

  Input:
    KEYS[1] holders: zset token → expiry (ms)

    ARGV[1] the permit's token
    ARGV[2] holdTtlMs

  Output:
    1 renewed, 0 lost (it expired and fell free)
]]
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
  return 1
end
return 0
