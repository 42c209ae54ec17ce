--[[
  Keeps one session's seat alive.

  Input:
    KEYS[1] users, KEYS[2] since, KEYS[3] meta, KEYS[4] seen (see includes/seatPrelude)
    KEYS[5] sess:<user>

    ARGV[1] now: '' = Redis TIME (ms); a number only from a test's clock
    ARGV[2] ttl (ms)
    ARGV[3] the user (normalized)
    ARGV[4] the session id

  Output:
    1 kept alive, 0 the seat or this session is gone (acquire again)
]]
--- @include "includes/seatPrelude"
local user, session = ARGV[3], ARGV[4]
if not redis.call('ZSCORE', usersKey, user) then return 0 end
local last = redis.call('ZSCORE', KEYS[5], session)
if not last or tonumber(last) <= cutoff then return 0 end
touch(KEYS[5], user, session)
return 1
