--[[
  Adds an item to a chat's panel history unless present (a redelivery is the same item),
  trims by age (on Redis's clock) then by count, and refreshes the TTLs.

  Input:
    KEYS[1] the chat's order zset (item id → time, ms)
    KEYS[2] the chat's items hash (item id → item JSON; id|s → status; id|r → its rank)
    KEYS[3] the chat's media set

    ARGV[1] the item id
    ARGV[2] the item's time (ms; data: the message's own time)
    ARGV[3] the item JSON
    ARGV[4] max: most items kept
    ARGV[5] maxAgeMs: older items go
    ARGV[6] ttlS
    then the item's media ids ARGV[7], ARGV[8], …

  Output:
    1 added, 0 already there
]]
local added = redis.call('ZADD', KEYS[1], 'NX', tonumber(ARGV[2]), ARGV[1])
if added == 1 then redis.call('HSET', KEYS[2], ARGV[1], ARGV[3]) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - tonumber(ARGV[5])))
local n = redis.call('ZCARD', KEYS[1]) - #old
if n > tonumber(ARGV[4]) then
  local extra = redis.call('ZRANGE', KEYS[1], #old, #old + n - tonumber(ARGV[4]) - 1)
  for _, id in ipairs(extra) do table.insert(old, id) end
end
for _, id in ipairs(old) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id, id .. '|s')
end
for i = 7, #ARGV do redis.call('SADD', KEYS[3], ARGV[i]) end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[6]))
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[6]))
if #ARGV >= 7 then redis.call('EXPIRE', KEYS[3], tonumber(ARGV[6])) end
return added
