--[[
  Pull mode with QUEUE_SHARDS > 1, last step of a hand-off to the update log in another
  slot (see updateLogAppendOnce-3): the items recorded by laneHandBegin-2 are in the log,
  so they leave the lane — exactly those seqs (an item re-inserted meanwhile at another seq
  stays) — and the record is closed. A driver ending a hand-off that is no longer open
  (another driver ended it already) changes nothing.

  Input:
    KEYS[1] `q:<key>`, the key's pending set
    KEYS[2] `hand:<key>`, the key's open hand-off

    ARGV[1] the hand-off's record (`<id>|<seq>,<seq>,…`)
    then ARGV[2 …] the seqs of its items

  Output:
    1 when the items left and the record closed, 0 when it was not open
]]
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
for i = 2, #ARGV do
  redis.call('ZREMRANGEBYSCORE', KEYS[1], ARGV[i], ARGV[i])
end
redis.call('DEL', KEYS[2])
return 1
