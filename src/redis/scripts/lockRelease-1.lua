--[[
  Releases a token lock only when it holds our token (never someone else's that took it
  over after ours expired).

  Input:
    KEYS[1] the lock (a string holding the owner's token)

    ARGV[1] our token

  Output:
    1 released, 0 not ours (nothing changed)
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
