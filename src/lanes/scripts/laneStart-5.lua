--[[
  A driver starts on a key (issue 19: replaces DEL kick flag + SET lock NX + ZRANGE head,
  three round trips, by one). Clears the key's kick flag and its place in `ready` — this kick
  has started, so appends from now on queue a kick of their own (the driver may already be
  past the point where it would see their items) — takes the key's token lock and reads up
  to n items from the head. With nothing pending the lock is released again in the same
  call and the key leaves `active` (as laneReleaseIfEmpty-3 would).

  Input:
    KEYS[1] `kick:<key>`, the key's kick flag
    KEYS[2] the lane's `ready` zset (gathering lanes; a no-op otherwise)
    KEYS[3] `lock:<key>`, the key's token lock
    KEYS[4] `q:<key>`, the key's pending set
    KEYS[5] the lane's `active` zset

    ARGV[1] the key (its member in `ready` and `active`)
    ARGV[2] the driver's lock token
    ARGV[3] lockMs: the lock's time to live (relative, Redis's clock)
    ARGV[4] n: most items to read

  Output:
    false when another driver holds the key, else the head items (possibly none: then the
    lock is not held)
]]
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if not redis.call('SET', KEYS[3], ARGV[2], 'PX', tonumber(ARGV[3]), 'NX') then return false end
local items = redis.call('ZRANGE', KEYS[4], 0, tonumber(ARGV[4]) - 1)
if #items == 0 then
  redis.call('DEL', KEYS[3])
  redis.call('ZREM', KEYS[5], ARGV[1])
end
return items
