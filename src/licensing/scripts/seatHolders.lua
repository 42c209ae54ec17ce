--[[
  Who holds seats of a feature: for each user the caller listed (it read `users` just
  before), if they still hold a seat, a row. A user who took a seat after that read shows
  in the next call.

  Called with the number of keys first (4 + one per user).

  Input:
    KEYS[1] users, KEYS[2] since, KEYS[3] meta, KEYS[4] seen (see includes/seatPrelude)
    KEYS[4 + i] sess:<user i> (i = 1, 2, …)

    ARGV[1] now: '' = Redis TIME (ms); a number only from a test's clock
    ARGV[2] ttl (ms)
    ARGV[2 + i] user i

  Output:
    flat rows: user, since (ms), lastSeen (ms), live sessions, meta JSON ('' = none)
]]
--- @include "includes/seatPrelude"
local out = {}
for i = 5, #KEYS do
  local u = ARGV[i - 2]
  local last = redis.call('ZSCORE', usersKey, u)
  if last then
    out[#out + 1] = u
    out[#out + 1] = redis.call('HGET', sinceKey, u) or last
    out[#out + 1] = last
    out[#out + 1] = redis.call('ZCOUNT', KEYS[i], '(' .. cutoff, '+inf')
    out[#out + 1] = redis.call('HGET', metaKey, u) or ''
  end
end
return out
