--[[
  Appends items to an ordered lane: dedupe by id, a per-key (or lane-wide) seq, the item in
  its key's pending set, the key in `active` for the sweep, and the kick flag.

  `seqField` empty: each key counts its own seq (a field of `seq` per key: chats, a bounded
  set). Non-empty: one lane-wide counter in that field, for lanes keyed per message
  (statuses), whose per-key fields would otherwise grow by one per message forever (issue 11
  item 11); a lane-wide counter is still increasing within every key, and job ids stay unique.

  `kick` says the caller must add a kick job for the key: only when no kick of that key is
  queued and not yet started (the kick flag, cleared by the driver when it starts). A burst
  of appends to one chat thus costs one BullMQ job, not one per append. If the caller dies
  before adding the kick, the flag expires after kickTtlS and the sweep kicks anyway.

  `gather` (issue 19, gathering lanes): no kick per key. The key joins the `ready` zset
  (oldest first), where drivers claim it (laneClaim-3), and `kick` = 1 asks the caller for
  one wake-up job for the whole lane, only when none is queued yet (the lane's `wake` flag,
  cleared by the first claim of the job that answers it, expiring after kickTtlS when the
  caller died before adding the job; the sweep heals that meanwhile). At most one item of a
  call answers kick = 1. A duplicate of a still-pending item puts its key back in `ready`
  and asks for a wake-up as well (it heals a lost one, as a duplicate re-kicks otherwise).

  Called with the number of keys first (4 + 3 per item).

  Input:
    KEYS[1] the lane's `seq` hash (key or seqField → last seq)
    KEYS[2] the lane's `active` zset (key → when it became pending, ms)
    KEYS[3] the lane's `ready` zset (keys waiting for a driver; touched only with `gather`)
    KEYS[4] the lane's `wake` flag (a wake-up job is queued; touched only with `gather`)
    then per item i (i = 1, 2, …):
    KEYS[3i+2] `id:<item id>`, the dedupe record (→ its seq)
    KEYS[3i+3] `q:<key>`, the key's pending set (item JSON scored by seq)
    KEYS[3i+4] `kick:<key>`, the key's kick flag (not touched with `gather`)

    ARGV[1] nowMs: a stamp, the caller's clock (the `active` score; only ordered, never added to)
    ARGV[2] dedupeTtlS: how long an id is remembered
    ARGV[3] kickTtlS: how long a kick flag outlives a caller that died before kicking
    ARGV[4] seqField ('' = per key)
    ARGV[5] gather: '1' = a gathering lane (queued kicks join `ready`), '' = not
    then per item i: ARGV[4 + 2i] the key, ARGV[5 + 2i] the body (a non-empty JSON object)

  Output:
    flat triples per item: seq, duplicate (0|1), kick (0|1; with `gather`: a wake-up job is wanted)
]]
local now = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local kickTtl = tonumber(ARGV[3])
local seqField = ARGV[4]
local gather = ARGV[5] == '1'
local out = {}
-- The wake flag is set (or found set) once per call: a call asks for one wake-up at most.
local wakeAsked = false
local function wake()
  if wakeAsked then return 0 end
  wakeAsked = true
  if redis.call('SET', KEYS[4], '1', 'NX', 'EX', kickTtl) then return 1 end
  return 0
end
local k = 5
local i = 6
while i <= #ARGV do
  local key, body = ARGV[i], ARGV[i + 1]
  local idKey, qKey, kickKey = KEYS[k], KEYS[k + 1], KEYS[k + 2]
  local existing = redis.call('GET', idKey)
  if existing then
    out[#out + 1] = tonumber(existing)
    out[#out + 1] = 1
    if gather then
      local again = 0
      if redis.call('EXISTS', qKey) == 1 then
        redis.call('ZADD', KEYS[3], 'NX', now, key)
        again = wake()
      end
      out[#out + 1] = again
    else
      out[#out + 1] = 1
    end
  else
    local field = key
    if seqField ~= '' then field = seqField end
    local seq = redis.call('HINCRBY', KEYS[1], field, 1)
    redis.call('SET', idKey, seq, 'EX', ttl)
    -- The stored item is the body's JSON text with `"seq":N,` spliced in after its opening
    -- brace: no JSON decode/encode in Redis (cjson would reorder keys and turn big integers
    -- into floats), and the seq makes every member unique in the sorted set (two items with
    -- equal bodies would otherwise be one member). The caller guarantees the body is a
    -- non-empty JSON object (starts with `{`, is not `{}`), so the splice stays valid JSON.
    local full = '{"seq":' .. seq .. ',' .. string.sub(body, 2)
    redis.call('ZADD', qKey, seq, full)
    redis.call('ZADD', KEYS[2], 'NX', now, key)
    out[#out + 1] = seq
    out[#out + 1] = 0
    if gather then
      -- Waits in `ready` for a driver (laneClaim-3); one wake-up job per lane, not a kick per key.
      redis.call('ZADD', KEYS[3], 'NX', now, key)
      out[#out + 1] = wake()
    elseif redis.call('SET', kickKey, '1', 'NX', 'EX', kickTtl) then
      out[#out + 1] = 1
    else
      out[#out + 1] = 0
    end
  end
  k = k + 3
  i = i + 2
end
return out
