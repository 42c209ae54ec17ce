--[[
  Takes (or refreshes) a workstation user's seat of a feature: a user who holds it is
  admitted, anyone else only while used < total (a smaller total evicts nobody). Every
  attempt, admitted or not, is recorded for the forecast.

  Input:
    KEYS[1] users, KEYS[2] since, KEYS[3] meta, KEYS[4] seen (see includes/seatPrelude)
    KEYS[5] sess:<user>: zset session id → last heartbeat (ms)
    KEYS[6] day:<n>: the set of users who attempted on UTC day n (the caller reads n from
            Redis TIME, or from the test's clock)

    ARGV[1] now: '' = Redis TIME (ms); a number only from a test's clock
    ARGV[2] ttl (ms)
    ARGV[3] the user (normalized)
    ARGV[4] the session id
    ARGV[5] total seats
    ARGV[6] meta JSON
    ARGV[7] history (ms): how long attempts are kept for the forecast

  Output:
    {ok (1|0), used, total, holders…}
]]
--- @include "includes/seatPrelude"
local user, session, total, meta, hist = ARGV[3], ARGV[4], tonumber(ARGV[5]), ARGV[6], tonumber(ARGV[7])
local sessKey, dayKey = KEYS[5], KEYS[6]
redis.call('ZADD', seenKey, now, user)
redis.call('ZREMRANGEBYSCORE', seenKey, '-inf', now - hist)
redis.call('PEXPIRE', seenKey, hist)
redis.call('SADD', dayKey, user)
redis.call('PEXPIRE', dayKey, hist)
local ok = 1
if not redis.call('ZSCORE', usersKey, user) then
  if redis.call('ZCARD', usersKey) >= total then
    ok = 0
  else
    redis.call('HSET', sinceKey, user, now)
  end
end
if ok == 1 then
  touch(sessKey, user, session)
  redis.call('HSET', metaKey, user, meta)
end
local res = {ok, redis.call('ZCARD', usersKey), total}
for _, u in ipairs(redis.call('ZRANGE', usersKey, 0, -1)) do res[#res + 1] = u end
return res
