/**
 * Lua scripts of the seat manager (seats.ts). Each runs atomically in Redis, so seats are
 * counted across every connector instance sharing the Redis.
 *
 * Keys under `base` = `<prefix>:seats:<feature>:`
 *   users        ZSET workstation user → last heartbeat (ms), max over the user's sessions
 *   since        HASH user → when the seat was taken (ms)
 *   meta         HASH user → JSON of the latest acquire's meta
 *   sess:<user>  ZSET session id → last heartbeat (ms); the seat is held while one is alive
 *   seen         ZSET user → last acquire attempt (ms), for the forecast (pruned to history)
 *   day:<n>      SET users who attempted on UTC day n (days since 1970-01-01), TTL = history
 *
 * KEYS: users, since, meta, seen (declared so a cluster client routes by them; use a
 * `{tag}` prefix on Redis Cluster so the computed `sess:` / `day:` keys share the slot).
 * ARGV[1] base, ARGV[2] now in ms or '' for Redis TIME, ARGV[3] ttl in ms, then per script.
 */
import { createHash } from 'node:crypto';

const PRELUDE = `
local base = ARGV[1]
local now = tonumber(ARGV[2])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local ttl = tonumber(ARGV[3])
local usersKey, sinceKey, metaKey, seenKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local cutoff = now - ttl
local function dropUser(u)
  redis.call('DEL', base .. 'sess:' .. u)
  redis.call('HDEL', sinceKey, u)
  redis.call('HDEL', metaKey, u)
  redis.call('ZREM', usersKey, u)
end
local dead = redis.call('ZRANGEBYSCORE', usersKey, '-inf', cutoff)
for _, u in ipairs(dead) do dropUser(u) end
local function touch(u, session)
  local sk = base .. 'sess:' .. u
  redis.call('ZREMRANGEBYSCORE', sk, '-inf', cutoff)
  redis.call('ZADD', sk, now, session)
  redis.call('PEXPIRE', sk, ttl + 60000)
  redis.call('ZADD', usersKey, now, u)
end
`;

/** ARGV[4] user, [5] session, [6] total, [7] meta JSON, [8] history ms → {ok, used, total, holders...} */
const ACQUIRE = `${PRELUDE}
local user, session, total, meta, hist = ARGV[4], ARGV[5], tonumber(ARGV[6]), ARGV[7], tonumber(ARGV[8])
redis.call('ZADD', seenKey, now, user)
redis.call('ZREMRANGEBYSCORE', seenKey, '-inf', now - hist)
redis.call('PEXPIRE', seenKey, hist)
local dayKey = base .. 'day:' .. math.floor(now / 86400000)
redis.call('SADD', dayKey, user)
redis.call('PEXPIRE', dayKey, hist)
local ok = 1
if not redis.call('ZSCORE', usersKey, user) then
  if redis.call('ZCARD', usersKey) >= total then
    ok = 0
  else
    redis.call('HSET', sinceKey, user, now)
  end
end
if ok == 1 then
  touch(user, session)
  redis.call('HSET', metaKey, user, meta)
end
local res = {ok, redis.call('ZCARD', usersKey), total}
for _, u in ipairs(redis.call('ZRANGE', usersKey, 0, -1)) do res[#res + 1] = u end
return res
`;

/** ARGV[4] user, [5] session → 1 kept alive, 0 the seat or this session is gone */
const HEARTBEAT = `${PRELUDE}
local user, session = ARGV[4], ARGV[5]
if not redis.call('ZSCORE', usersKey, user) then return 0 end
local sk = base .. 'sess:' .. user
local last = redis.call('ZSCORE', sk, session)
if not last or tonumber(last) <= cutoff then return 0 end
touch(user, session)
return 1
`;

/** ARGV[4] user, [5] session or '' for all → {freed 0/1, sessions left} */
const RELEASE = `${PRELUDE}
local user, session = ARGV[4], ARGV[5]
if not redis.call('ZSCORE', usersKey, user) then return {0, 0} end
local sk = base .. 'sess:' .. user
if session ~= '' then
  redis.call('ZREM', sk, session)
  redis.call('ZREMRANGEBYSCORE', sk, '-inf', cutoff)
  local left = redis.call('ZCARD', sk)
  if left > 0 then
    local top = redis.call('ZRANGE', sk, -1, -1, 'WITHSCORES')
    redis.call('ZADD', usersKey, top[2], user)
    return {0, left}
  end
end
dropUser(user)
return {1, 0}
`;

/** → flat list: user, since, lastSeen, live sessions, meta JSON (repeated) */
const HOLDERS = `${PRELUDE}
local out = {}
local list = redis.call('ZRANGE', usersKey, 0, -1, 'WITHSCORES')
for i = 1, #list, 2 do
  local u = list[i]
  out[#out + 1] = u
  out[#out + 1] = redis.call('HGET', sinceKey, u) or list[i + 1]
  out[#out + 1] = list[i + 1]
  out[#out + 1] = redis.call('ZCOUNT', base .. 'sess:' .. u, '(' .. cutoff, '+inf')
  out[#out + 1] = redis.call('HGET', metaKey, u) or ''
end
return out
`;

/** ARGV[4] comma-separated window lengths in days, [5] number of daily buckets → {now, counts..., daily...} */
const DEMAND = `${PRELUDE}
local out = {now}
for d in string.gmatch(ARGV[4], '[^,]+') do
  out[#out + 1] = redis.call('ZCOUNT', seenKey, '(' .. (now - tonumber(d) * 86400000), '+inf')
end
local today = math.floor(now / 86400000)
for i = tonumber(ARGV[5]) - 1, 0, -1 do
  out[#out + 1] = redis.call('SCARD', base .. 'day:' .. (today - i))
end
return out
`;

export interface SeatScript {
  name: string;
  lua: string;
  sha: string;
}

function script(name: string, lua: string): SeatScript {
  return { name, lua, sha: createHash('sha1').update(lua).digest('hex') };
}

export const SEAT_SCRIPTS = {
  acquire: script('seat-acquire', ACQUIRE),
  heartbeat: script('seat-heartbeat', HEARTBEAT),
  release: script('seat-release', RELEASE),
  holders: script('seat-holders', HOLDERS),
  demand: script('seat-demand', DEMAND),
} as const;
