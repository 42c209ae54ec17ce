--[[
  Renews many token locks of one holder in one call (a driver holding several keys, issue
  19): extends each lock still holding our token, and names the ones that do not (expired,
  or taken over: theirs now, not extended).

  Called with the number of keys first (one per lock).

  Input:
    KEYS[i] (i = 1, 2, …) the locks (strings holding the owner's token)

    ARGV[1] our token
    ARGV[2] the new time to live in ms (from now, on Redis's clock)

  Output:
    the locks (key names) that are no longer ours
]]
local ttl = tonumber(ARGV[2])
local lost = {}
for i = 1, #KEYS do
  local lockKey = KEYS[i]
  if redis.call('GET', lockKey) == ARGV[1] then redis.call('PEXPIRE', lockKey, ttl) else lost[#lost + 1] = lockKey end
end
return lost
