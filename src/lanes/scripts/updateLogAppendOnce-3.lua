--[[
  Pull mode with QUEUE_SHARDS > 1: a shard's lane hands a key's items to the ONE update log
  of the deployment, which lives in another slot (the deployment prefix's hash tag), so the
  hand-off cannot be one script with the lane. This is its middle step, idempotent per
  hand-off: the lane recorded the hand-off (laneHandBegin-2: an id and the items' seqs)
  before, and drops the items after (laneHandEnd-2). The entries are added only if this
  hand-off id was never added; a driver that finishes another's interrupted hand-off, or a
  stalled driver that wakes up, adds nothing a second time.

  Input:
    KEYS[1] the update log's stream
    KEYS[2] the update log's meta hash
    KEYS[3] the hand-off's record in the log's slot (`<prefix>:updates:handed:<hand-off id>`)

    ARGV[1] ttlS: how long the record is kept (far beyond any driver stall)
    then pairs ARGV[2 + 2j], ARGV[3 + 2j] (j = 0, 1, …): type, payload JSON, one per item, in order

  Output:
    the number of entries added (0 when this hand-off was added before)
]]
--- @include "includes/logAppend"
if not redis.call('SET', KEYS[3], '1', 'NX', 'EX', tonumber(ARGV[1])) then return 0 end
local n = logAppend(1, 2, 2)
return n
