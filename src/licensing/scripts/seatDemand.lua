--[[
  The forecast's figures: distinct users who tried to take a seat within each window, and
  per UTC day.

  Called with the number of keys first (4 + one per day).

  Input:
    KEYS[1] users, KEYS[2] since, KEYS[3] meta, KEYS[4] seen (see includes/seatPrelude)
    KEYS[4 + i] day:<n>, oldest day first, ending today (the caller reads today from Redis
                TIME, or from the test's clock)

    ARGV[1] now: '' = Redis TIME (ms); a number only from a test's clock
    ARGV[2] ttl (ms)
    ARGV[3] window lengths in days, comma-separated

  Output:
    {distinct users per window…, users per day…}
]]
--- @include "includes/seatPrelude"
local out = {}
for d in string.gmatch(ARGV[3], '[^,]+') do
  out[#out + 1] = redis.call('ZCOUNT', seenKey, '(' .. (now - tonumber(d) * 86400000), '+inf')
end
for i = 5, #KEYS do
  out[#out + 1] = redis.call('SCARD', KEYS[i])
end
return out
