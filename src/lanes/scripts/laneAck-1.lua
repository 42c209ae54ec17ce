--[[
  Removes a key's delivered items: every item with seq <= upTo.

  Input:
    KEYS[1] `q:<key>`, the key's pending set

    ARGV[1] upTo: the seq of the last delivered item

  Output:
    how many items of the key are still pending
]]
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
return redis.call('ZCARD', KEYS[1])
