--[[
  Sets the status of an item still in a chat's panel history; a status never goes back (a
  late "sent" after "read" is ignored; "failed" wins).

  Input:
    KEYS[1] the chat's order zset
    KEYS[2] the chat's items hash

    ARGV[1] the item id
    ARGV[2] the status JSON
    ARGV[3] the status's rank

  Output:
    1 written, 0 not (no such item, or not a step forward)
]]
if redis.call('ZSCORE', KEYS[1], ARGV[1]) == false then return 0 end
local cur = redis.call('HGET', KEYS[2], ARGV[1] .. '|r')
if cur and tonumber(cur) >= tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[2], ARGV[1] .. '|s', ARGV[2], ARGV[1] .. '|r', ARGV[3])
return 1
