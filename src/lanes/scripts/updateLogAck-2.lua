--[[
  Moves the update log's committed pointer forward to the cursor and trims every entry up
  to and including it. An older (or equal) cursor changes nothing. Stream ids are compared
  as numbers (`ms-seq`).

  Input:
    KEYS[1] the update log's stream
    KEYS[2] the update log's meta hash

    ARGV[1] the cursor's stream id (`ms-seq`)
    ARGV[2] the first id after it (`ms-(seq+1)`)

  Output:
    how many entries the ack removed (0 for a cursor not ahead of the pointer)
]]
local function parse(id)
  local ms, sq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(sq)
end
local cms, csq = parse(ARGV[1])
local committed = redis.call('HGET', KEYS[2], 'committed') or '0-0'
local pms, psq = parse(committed)
if cms < pms or (cms == pms and csq <= psq) then return 0 end
local before = redis.call('XLEN', KEYS[1])
redis.call('XTRIM', KEYS[1], 'MINID', ARGV[2])
redis.call('HSET', KEYS[2], 'committed', ARGV[1])
return before - redis.call('XLEN', KEYS[1])
