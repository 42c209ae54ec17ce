--[[
  The common start of every seat script: the clock, the four per-feature keys, and holders
  without a heartbeat for `ttl` dropped.

    KEYS[1] users: zset workstation user → last heartbeat (ms), max over the user's sessions
    KEYS[2] since: hash user → when the seat was taken (ms)
    KEYS[3] meta: hash user → JSON of the latest acquire's meta
    KEYS[4] seen: zset user → last acquire attempt (ms), for the forecast
    ARGV[1] now: '' = Redis TIME (ms); a number only from a test's clock
    ARGV[2] ttl: a seat reference without heartbeat for this long is dropped (ms)

  A dropped user's sessions zset (`sess:<user>`) is not deleted here (its name is not in
  KEYS): it expires by itself ttl + 60 s after its last heartbeat, and a user who comes
  back first has the stale sessions pruned by touch().
]]
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local ttl = tonumber(ARGV[2])
local usersKey, sinceKey, metaKey, seenKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local cutoff = now - ttl
local function forget(u)
  redis.call('HDEL', sinceKey, u)
  redis.call('HDEL', metaKey, u)
  redis.call('ZREM', usersKey, u)
end
local dead = redis.call('ZRANGEBYSCORE', usersKey, '-inf', cutoff)
for _, u in ipairs(dead) do forget(u) end
local function touch(sessKey, u, session)
  redis.call('ZREMRANGEBYSCORE', sessKey, '-inf', cutoff)
  redis.call('ZADD', sessKey, now, session)
  redis.call('PEXPIRE', sessKey, ttl + 60000)
  redis.call('ZADD', usersKey, now, u)
end
