--[[
  Stores the record of a new outbound message, atomically: of two racing requests with the
  same id exactly one creates it; the other sees the first one's record.

  Input:
    KEYS[1] the message's record hash

    ARGV[1] ttlS: how long the record (and so idempotency by id) is kept
    then field/value pairs ARGV[2], ARGV[3], …

  Output:
    {1} created, or {0} when the record exists
]]
if redis.call('EXISTS', KEYS[1]) == 1 then return {0} end
local kv = {}
for i = 2, #ARGV do kv[#kv + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(kv))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1]))
return {1}
