--[[
  A gathering lane's kick looks before it waits for a driver slot, without locking, so the
  key stays claimable by the drivers that have a slot (laneClaim-3). Nothing pending: the
  kick is done, as laneStart-5 with nothing pending (kick flag and `ready` entry cleared,
  so the next append queues a kick).

  Input:
    KEYS[1] `q:<key>`, the key's pending set
    KEYS[2] `kick:<key>`, the key's kick flag
    KEYS[3] the lane's `ready` zset

    ARGV[1] the key (its member in `ready`)

  Output:
    1 when items are pending, else 0
]]
if redis.call('EXISTS', KEYS[1]) == 1 then return 1 end
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
return 0
