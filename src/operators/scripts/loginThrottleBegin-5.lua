--[[
  Takes a place for one operator login attempt, or says why not: a backoff block of the
  workstation user or the address (after failures), too many attempts at once of either,
  or the overall bound of logins in progress. Places are zset members scored by their
  expiry, so a crashed process's attempts free themselves.

  Input:
    KEYS[1] the workstation user's failures hash (fails, until)
    KEYS[2] the address's failures hash (fails, until)
    KEYS[3] the workstation user's in-flight zset (attempt → expiry, ms)
    KEYS[4] the address's in-flight zset
    KEYS[5] the overall pending zset

    ARGV[1] now: '' = Redis TIME (ms); a number only from a test's clock
    ARGV[2] attemptId
    ARGV[3] holdMs: how long a place is held at most
    ARGV[4] maxInFlightUser
    ARGV[5] maxInFlightAddress
    ARGV[6] maxPending

  Output:
    {0} admitted, {1, waitMs} blocked by backoff, {2} too many at once, {3} queue full
]]
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local wait = 0
for i = 1, 2 do
  local u = tonumber(redis.call('HGET', KEYS[i], 'until') or '0')
  if u - now > wait then wait = u - now end
end
if wait > 0 then return {1, wait} end
for i = 3, 5 do redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now) end
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[4]) or redis.call('ZCARD', KEYS[4]) >= tonumber(ARGV[5]) then return {2} end
if redis.call('ZCARD', KEYS[5]) >= tonumber(ARGV[6]) then return {3} end
local exp = now + tonumber(ARGV[3])
for i = 3, 5 do
  redis.call('ZADD', KEYS[i], exp, ARGV[2])
  redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[3]))
end
return {0}
