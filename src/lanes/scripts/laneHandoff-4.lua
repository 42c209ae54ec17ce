--[[
  Pull mode: items leave a lane's pending set INTO the update log, in one step — a crash
  either leaves them pending (handed off again later) or has them in the log and gone from
  the lane; never both, never neither.

  Input:
    KEYS[1] `q:<key>`, the key's pending set
    KEYS[2] `lock:<key>`, the key's token lock
    KEYS[3] the update log's stream
    KEYS[4] the update log's meta hash

    ARGV[1] the driver's lock token
    ARGV[2] upTo: every pending item with seq <= upTo leaves
    then pairs ARGV[3 + 2j], ARGV[4 + 2j] (j = 0, 1, …): type, payload JSON, one per item, in order

  Output:
    the number of entries added, or -1 when the lock is not ours (another driver took the
    key over after a stall: it hands the same items off; we must not)
]]
--- @include "includes/logAppend"
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return -1 end
local n = logAppend(3, 4, 3)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
return n
