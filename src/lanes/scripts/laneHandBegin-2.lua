--[[
  Pull mode with QUEUE_SHARDS > 1, first step of a hand-off to the update log in another
  slot (see updateLogAppendOnce-3): records, under the key's lock, which items leave (a
  hand-off id and their seqs). A hand-off a driver began and did not end (it crashed, or
  stalled and lost the lock) is still recorded: that one is returned instead, and the new
  driver finishes it — the same id, the same items — before anything else.

  Input:
    KEYS[1] `lock:<key>`, the key's token lock
    KEYS[2] `hand:<key>`, the key's open hand-off (`<id>|<seq>,<seq>,…`)

    ARGV[1] the driver's lock token
    ARGV[2] the new hand-off's record (`<id>|<seq>,<seq>,…`)

  Output:
    the open hand-off's record (the one found, or ARGV[2] once recorded), or -1 when the lock
    is not ours
]]
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local open = redis.call('GET', KEYS[2])
if open then return open end
redis.call('SET', KEYS[2], ARGV[2])
return ARGV[2]
