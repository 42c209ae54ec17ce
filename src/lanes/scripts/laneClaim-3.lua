--[[
  A gathering driver takes keys into its batch (issue 19): keys waiting in `ready` (oldest
  first), locked and read as laneStart-5 does for one. A key another driver holds is
  dropped from `ready` (that driver delivers its items: it releases the key only together
  with "nothing pending", laneAckNext-3); a key with nothing pending is released at once.
  A wake-up job's first claim also clears the lane's `wake` flag, in the same step, so an
  append from then on asks for a wake-up job of its own. A driver ends only after a claim
  that left `ready` empty: every key in `ready` thus has a driver that will still claim, or
  a queued wake-up job (the flag), or — after a crash — the sweep.

  Which keys it takes is only known once it pops them from `ready`, so their keys cannot be
  listed in KEYS beforehand: they are built from the lane's base (ARGV[1]), which the
  script checks is the prefix of KEYS[1] — every key of a lane shares that prefix, hence
  one Redis Cluster slot when the prefix carries a `{hash tag}`.
  Keys derived from data: <base>lock:<key>, <base>q:<key> (<base> = ARGV[1], prefix of KEYS[1]: same hash tag)

  Input:
    KEYS[1] the lane's `ready` zset (`<base>ready`)
    KEYS[2] the lane's `active` zset
    KEYS[3] the lane's `wake` flag (a wake-up job is queued, laneAppend)

    ARGV[1] base: the lane's key prefix (`<prefix>:lane:<name>:`)
    ARGV[2] the driver's lock token
    ARGV[3] lockMs: the locks' time to live (relative, Redis's clock)
    ARGV[4] budget: most items in all
    ARGV[5] maxKeys: most keys looked at
    ARGV[6] '1' = a wake-up job's first claim (clears the `wake` flag first), '' = not

  Output:
    flat {left, key, count, item…, key, count, item…}: left = keys still in `ready` after
    this claim; the last key may have more items pending than it got (read next round)
]]
local base = ARGV[1]
if string.sub(KEYS[1], 1, #base) ~= base then return redis.error_reply('laneClaim: ARGV[1] is not the prefix of KEYS[1]') end
local token, lockMs = ARGV[2], tonumber(ARGV[3])
local budget, maxKeys = tonumber(ARGV[4]), tonumber(ARGV[5])
if ARGV[6] == '1' then redis.call('DEL', KEYS[3]) end
local out = {0}
local looked = 0
while budget > 0 and looked < maxKeys do
  local popped = redis.call('ZPOPMIN', KEYS[1])
  if #popped == 0 then break end
  looked = looked + 1
  local key = popped[1]
  local lockKey = base .. 'lock:' .. key
  if redis.call('SET', lockKey, token, 'PX', lockMs, 'NX') then
    local qKey = base .. 'q:' .. key
    local items = redis.call('ZRANGE', qKey, 0, budget - 1)
    if #items == 0 then
      redis.call('DEL', lockKey)
      redis.call('ZREM', KEYS[2], key)
    else
      out[#out + 1] = key
      out[#out + 1] = #items
      for i = 1, #items do out[#out + 1] = items[i] end
      budget = budget - #items
    end
  end
end
out[1] = redis.call('ZCARD', KEYS[1])
return out
