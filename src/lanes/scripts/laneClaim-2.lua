--[[
  A gathering driver takes more keys into its batch (issue 19): keys whose kick is queued
  and not started (`ready`, oldest first), as if their kicks had run now (laneStart-5 for
  each). A key another driver holds is skipped (that driver delivers its items) and keeps
  its kick flag (its queued kick still stands for later appends); a key with nothing
  pending is released at once. The kick jobs of claimed keys still run later and find the
  key driven or empty.

  Which keys it takes is only known once it pops them from `ready`, so their keys cannot be
  listed in KEYS beforehand: they are built from the lane's base (ARGV[1]), which the
  script checks is the prefix of KEYS[1] — every key of a lane shares that prefix, hence
  one Redis Cluster slot when the prefix carries a `{hash tag}`.
  Keys derived from data: <base>lock:<key>, <base>kick:<key>, <base>q:<key> (<base> = ARGV[1], prefix of KEYS[1]: same hash tag)

  Input:
    KEYS[1] the lane's `ready` zset (`<base>ready`)
    KEYS[2] the lane's `active` zset

    ARGV[1] base: the lane's key prefix (`<prefix>:lane:<name>:`)
    ARGV[2] the driver's lock token
    ARGV[3] lockMs: the locks' time to live (relative, Redis's clock)
    ARGV[4] budget: most items in all
    ARGV[5] maxKeys: most keys looked at

  Output:
    flat {key, count, item…, key, count, item…}; the last key may have more items pending
    than it got (the driver reads them next round)
]]
local base = ARGV[1]
if string.sub(KEYS[1], 1, #base) ~= base then return redis.error_reply('laneClaim: ARGV[1] is not the prefix of KEYS[1]') end
local token, lockMs = ARGV[2], tonumber(ARGV[3])
local budget, maxKeys = tonumber(ARGV[4]), tonumber(ARGV[5])
local out = {}
local looked = 0
while budget > 0 and looked < maxKeys do
  local popped = redis.call('ZPOPMIN', KEYS[1])
  if #popped == 0 then break end
  looked = looked + 1
  local key = popped[1]
  local lockKey = base .. 'lock:' .. key
  if redis.call('SET', lockKey, token, 'PX', lockMs, 'NX') then
    local kickKey = base .. 'kick:' .. key
    redis.call('DEL', kickKey)
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
return out
