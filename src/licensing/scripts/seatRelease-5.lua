--[[
  Ends one session (or every session) of a user; frees the seat when none is left.

  Input:
    KEYS[1] users, KEYS[2] since, KEYS[3] meta, KEYS[4] seen (see includes/seatPrelude)
    KEYS[5] sess:<user>

    ARGV[1] now: '' = Redis TIME (ms); a number only from a test's clock
    ARGV[2] ttl (ms)
    ARGV[3] the user (normalized)
    ARGV[4] the session id, or '' for all

  Output:
    {freed (1|0), sessions left}
]]
--- @include "includes/seatPrelude"
local user, session = ARGV[3], ARGV[4]
local sessKey = KEYS[5]
if not redis.call('ZSCORE', usersKey, user) then return {0, 0} end
if session ~= '' then
  redis.call('ZREM', sessKey, session)
  redis.call('ZREMRANGEBYSCORE', sessKey, '-inf', cutoff)
  local left = redis.call('ZCARD', sessKey)
  if left > 0 then
    local top = redis.call('ZRANGE', sessKey, -1, -1, 'WITHSCORES')
    redis.call('ZADD', usersKey, top[2], user)
    return {0, left}
  end
end
redis.call('DEL', sessKey)
forget(user)
return {1, 0}
