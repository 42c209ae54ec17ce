--[[
  Puts an item back at its own seq (a retried dead letter keeps its place in the key's order).

  Input:
    KEYS[1] `q:<key>`, the key's pending set
    KEYS[2] the lane's `active` zset

    ARGV[1] nowMs: a stamp, the caller's clock (the `active` score if the key was not pending)
    ARGV[2] the key
    ARGV[3] the item's seq
    ARGV[4] the stored item (JSON with its seq, as laneAppend stores it)

  Output:
    1
]]
redis.call('ZADD', KEYS[1], tonumber(ARGV[3]), ARGV[4])
redis.call('ZADD', KEYS[2], 'NX', tonumber(ARGV[1]), ARGV[2])
return 1
