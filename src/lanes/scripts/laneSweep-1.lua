--[[
  One round of the sweep (issue 19: one call per round over a bounded slice, not a scan of
  every chat): looks at up to `limit` keys of `active` (oldest first) from `offset`, and
  returns those pending since `cutoff` or earlier with no driver (no lock), with their head
  seq. The next round continues after this slice (the offset returned; 0 = start over), so
  every key is looked at within a few rounds however many there are. A key whose kick is
  queued may get a second one (a no-op when it runs): the flag cannot tell a queued kick
  from a lost one.

  Which keys it looks at is only known once it reads `active`, so their keys cannot be
  listed in KEYS beforehand: they are built from the lane's base (ARGV[1]), which the
  script checks is the prefix of KEYS[1] (one Redis Cluster slot with a `{hash tag}`).
  Keys derived from data: <base>lock:<key>, <base>q:<key> (<base> = ARGV[1], prefix of KEYS[1]: same hash tag)

  Input:
    KEYS[1] the lane's `active` zset (`<base>active`: key → when it became pending)

    ARGV[1] base: the lane's key prefix (`<prefix>:lane:<name>:`)
    ARGV[2] cutoff: a stamp on the caller's clock, compared only with the `active` stamps
      (also the caller's clock); skew shifts when a sweep kicks, which is idempotent
    ARGV[3] offset: where in `active` this round starts
    ARGV[4] limit: most keys looked at

  Output:
    {nextOffset, key, seq, key, seq, …}
]]
local base = ARGV[1]
if string.sub(KEYS[1], 1, #base) ~= base then return redis.error_reply('laneSweep: ARGV[1] is not the prefix of KEYS[1]') end
local cutoff = tonumber(ARGV[2])
local off, lim = tonumber(ARGV[3]), tonumber(ARGV[4])
local rows = redis.call('ZRANGE', KEYS[1], off, off + lim - 1, 'WITHSCORES')
local out = {0}
local looked = 0
for i = 1, #rows, 2 do
  local key = rows[i]
  if tonumber(rows[i + 1]) > cutoff then break end
  looked = looked + 1
  local lockKey = base .. 'lock:' .. key
  if redis.call('EXISTS', lockKey) == 0 then
    local qKey = base .. 'q:' .. key
    local head = redis.call('ZRANGE', qKey, 0, 0, 'WITHSCORES')
    if #head == 2 then
      out[#out + 1] = key
      out[#out + 1] = head[2]
    end
  end
end
if looked == lim then out[1] = off + lim end
return out
