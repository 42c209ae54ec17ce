/**
 * Lua scripts of the ordered lane. Each runs atomically in Redis, so dedupe + seq, and
 * "release the chat only when nothing is pending", can never interleave with another
 * instance. Keys derive from one base (`<prefix>:lane:<name>:`); with a `{hash tag}` in
 * the prefix they all live in one Redis Cluster slot.
 */

/**
 * Append items. KEYS: none declared beyond the base-derived ones (same slot by prefix).
 * ARGV: base, nowMs, dedupeTtlS, kickTtlS, seqField, then triples (key, id, bodyJson).
 * `seqField` empty: each key counts its own seq (a field of `seq` per key: chats, a bounded
 * set). Non-empty: one lane-wide counter in that field, for lanes keyed per message (statuses),
 * whose per-key fields would otherwise grow by one per message forever (issue 11 item 11);
 * a lane-wide counter is still increasing within every key, and job ids stay unique.
 * Returns flat triples (seq, duplicate 0|1, kick 0|1) per item.
 *
 * `kick` says the caller must add a kick job for the key: only when no kick of that key is
 * queued and not yet started (flag `kick:<key>`, cleared by the driver when it starts). A
 * burst of appends to one chat thus costs one BullMQ job, not one per append. If the caller
 * dies before adding the kick, the flag expires after kickTtlS and the sweep kicks anyway.
 */
export const APPEND = `
local base = ARGV[1]
local now = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local kickTtl = tonumber(ARGV[4])
local seqField = ARGV[5]
local out = {}
local i = 6
while i <= #ARGV do
  local key, id, body = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local idKey = base .. 'id:' .. id
  local existing = redis.call('GET', idKey)
  if existing then
    out[#out + 1] = tonumber(existing)
    out[#out + 1] = 1
    out[#out + 1] = 1
  else
    local field = key
    if seqField ~= '' then field = seqField end
    local seq = redis.call('HINCRBY', base .. 'seq', field, 1)
    redis.call('SET', idKey, seq, 'EX', ttl)
    local full = '{"seq":' .. seq .. ',' .. string.sub(body, 2)
    redis.call('ZADD', base .. 'q:' .. key, seq, full)
    redis.call('ZADD', base .. 'active', 'NX', now, key)
    out[#out + 1] = seq
    out[#out + 1] = 0
    if redis.call('SET', base .. 'kick:' .. key, '1', 'NX', 'EX', kickTtl) then
      out[#out + 1] = 1
    else
      out[#out + 1] = 0
    end
  end
  i = i + 3
end
return out
`;

/**
 * Put an item back at its own seq (a retried dead letter keeps its place in the chat's order).
 * ARGV: base, nowMs, key, seq, fullBody.
 */
export const REINSERT = `
local base = ARGV[1]
redis.call('ZADD', base .. 'q:' .. ARGV[3], tonumber(ARGV[4]), ARGV[5])
redis.call('ZADD', base .. 'active', 'NX', tonumber(ARGV[2]), ARGV[3])
return 1
`;

/**
 * Remove delivered items (every seq <= upTo) of a key. ARGV: base, key, upTo.
 * Returns how many are still pending.
 */
export const ACK = `
local q = ARGV[1] .. 'q:' .. ARGV[2]
redis.call('ZREMRANGEBYSCORE', q, '-inf', ARGV[3])
return redis.call('ZCARD', q)
`;

/**
 * Release the key's lock only when nothing is pending: a message appended while the driver
 * was finishing is then either seen by this driver (release fails, it loops) or appended
 * after the release (its own kick finds the lock free). Nothing can fall in between.
 * ARGV: base, key, token. Returns 1 released, 0 still pending, -1 lock not ours.
 */
export const RELEASE_IF_EMPTY = `
local base, key, token = ARGV[1], ARGV[2], ARGV[3]
local lock = base .. 'lock:' .. key
if redis.call('GET', lock) ~= token then return -1 end
if redis.call('ZCARD', base .. 'q:' .. key) > 0 then return 0 end
redis.call('DEL', lock)
redis.call('ZREM', base .. 'active', key)
return 1
`;

/** ARGV: lockKey, token, ttlMs. 1 when renewed (still ours). */
export const RENEW = `
if redis.call('GET', ARGV[1]) == ARGV[2] then
  redis.call('PEXPIRE', ARGV[1], tonumber(ARGV[3]))
  return 1
end
return 0
`;

/** ARGV: lockKey, token. Unconditional release of our own lock (on error). */
export const RELEASE = `
if redis.call('GET', ARGV[1]) == ARGV[2] then return redis.call('DEL', ARGV[1]) end
return 0
`;
