--[[
  Renews a token lock: extends its expiry only while it still holds our token (a lock that
  expired and was taken by someone else is theirs; we must not extend it).

  Input:
    KEYS[1] the lock (a string holding the owner's token)

    ARGV[1] our token
    ARGV[2] the new time to live in ms (from now, on Redis's clock)

  Output:
    1 renewed (still ours), 0 not ours (expired, or taken over)
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
  return 1
end
return 0
