--[[
  Adds consecutive items of ONE chat to its panel history in one call (one item, or a
  delivered batch: one round trip per chat instead of two per message). Adds each item unless
  present (a redelivery is the same item), then trims by age (on Redis's clock) and by count
  and refreshes the TTLs once: the newest `max` items younger than maxAgeMs stay.

  Input:
    KEYS[1] the chat's order zset (item id → time, ms)
    KEYS[2] the chat's items hash (item id → item JSON; id|s → status; id|r → its rank)
    KEYS[3] the chat's media set

    ARGV[1] max: most items kept
    ARGV[2] maxAgeMs: older items go
    ARGV[3] ttlS
    then per item, from ARGV[4]: the item id, its time (ms; data: the message's own time),
      the item JSON, the number n of its media ids, then those n media ids

  Output:
    the time of the last item it added, or false when it added none
]]
local last = false
local media = 0
local i = 4
while i <= #ARGV do
  local nm = tonumber(ARGV[i + 3])
  if redis.call('ZADD', KEYS[1], 'NX', tonumber(ARGV[i + 1]), ARGV[i]) == 1 then
    redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 2])
    last = ARGV[i + 1]
  end
  for j = 1, nm do redis.call('SADD', KEYS[3], ARGV[i + 3 + j]) end
  media = media + nm
  i = i + 4 + nm
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - tonumber(ARGV[2])))
local n = redis.call('ZCARD', KEYS[1]) - #old
if n > tonumber(ARGV[1]) then
  local extra = redis.call('ZRANGE', KEYS[1], #old, #old + n - tonumber(ARGV[1]) - 1)
  for _, id in ipairs(extra) do table.insert(old, id) end
end
for _, id in ipairs(old) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id, id .. '|s')
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[3]))
if media > 0 then redis.call('EXPIRE', KEYS[3], tonumber(ARGV[3])) end
return last
