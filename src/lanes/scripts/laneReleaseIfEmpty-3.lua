--[[
  Releases the key's lock only when nothing is pending: a message appended while the driver
  was finishing is then either seen by this driver (release fails, it loops) or appended
  after the release (its own kick finds the lock free). Nothing can fall in between.

  Input:
    KEYS[1] `lock:<key>`, the key's token lock
    KEYS[2] `q:<key>`, the key's pending set
    KEYS[3] the lane's `active` zset

    ARGV[1] the driver's lock token
    ARGV[2] the key (its member in `active`)

  Output:
    1 released, 0 still pending (the driver goes on), -1 the lock is not ours (it expired and
    another driver took the key: that driver delivers what is pending, so this one is done)
]]
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
if redis.call('ZCARD', KEYS[2]) > 0 then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[3], ARGV[2])
return 1
