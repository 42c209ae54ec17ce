/**
 * Lua scripts of the update log (pull mode, onec-pull.md). Every key a script touches is
 * passed in KEYS (Redis Cluster needs it: put a `{hash tag}` in QUEUE_PREFIX to keep a
 * lane and the log in one slot). Stream ids are compared as numbers (`ms-seq`).
 */

/**
 * handoff-4: items leave a lane's pending set INTO the update log, in one step — a crash
 * either leaves them pending (handed off again later) or has them in the log and gone
 * from the lane; never both, never neither.
 *
 * KEYS: [1] the lane's pending set of the key (`…:q:<key>`), [2] the key's lock,
 *       [3] the stream, [4] the log's meta hash.
 * ARGV: [1] lock token, [2] upTo seq (every pending item with seq <= upTo leaves),
 *       then pairs (type, payloadJson), one per item, in order.
 * Returns the number of entries added, or -1 when the lock is not ours (another driver
 * took the key over after a stall: it hands the same items off; we must not).
 */
export const HANDOFF = `
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return -1 end
local id = nil
local n = 0
local i = 3
while i <= #ARGV do
  id = redis.call('XADD', KEYS[3], '*', 't', ARGV[i], 'u', ARGV[i + 1])
  n = n + 1
  i = i + 2
end
if id then redis.call('HSET', KEYS[4], 'last', id) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
return n
`;

/**
 * ack-2: moves the committed pointer forward to the cursor and trims every entry up to
 * and including it. An older (or equal) cursor changes nothing.
 *
 * KEYS: [1] the stream, [2] the meta hash.
 * ARGV: [1] the cursor's stream id (`ms-seq`), [2] the first id after it (`ms-(seq+1)`).
 * Returns how many entries the ack removed (0 for a cursor not ahead of the pointer).
 */
export const ACK_LOG = `
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
`;
