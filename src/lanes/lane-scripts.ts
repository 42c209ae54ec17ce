/**
 * Lua scripts of the ordered lane. Each runs atomically in Redis, so dedupe + seq, and
 * "release the chat only when nothing is pending", can never interleave with another
 * instance. Keys derive from one base (`<prefix>:lane:<name>:`); with a `{hash tag}` in
 * the prefix they all live in one Redis Cluster slot.
 */

/**
 * Append items. KEYS: none declared beyond the base-derived ones (same slot by prefix).
 * ARGV: base, nowMs, dedupeTtlS, kickTtlS, seqField, gather ('1' or ''), then triples (key, id, bodyJson).
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
 * With `gather`, the key also joins the `ready` set (oldest first) that CLAIM takes keys from.
 */
export const APPEND = `
local base = ARGV[1]
local now = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local kickTtl = tonumber(ARGV[4])
local seqField = ARGV[5]
local gather = ARGV[6] == '1'
local out = {}
local i = 7
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
      -- issue 19: a gathering lane's drivers may claim the key before its kick runs (CLAIM).
      if gather then redis.call('ZADD', base .. 'ready', 'NX', now, key) end
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

// ---------------------------------------------------------------------------------------
// Issue 19 (push-mode pipeline): merged scripts, fewer round trips per batch, and cross-key
// gathering. START replaces DEL kick + SET lock NX + ZRANGE head (3 → 1 round trip);
// ACK_NEXT replaces ACK + ZRANGE head + RELEASE_IF_EMPTY (3 → 1); CLAIM lets a driver add
// other keys waiting for a kick to its batch (many chats with few messages each fill one
// 1C call); RENEW_MANY renews every lock a driver holds in one call.
// APPEND (above) keeps the `ready` set for CLAIM when its ARGV[6] is '1' (gathering lanes).
// ---------------------------------------------------------------------------------------

/**
 * A driver starts on a key. ARGV: base, key, token, lockMs, n.
 * Clears the key's "kick queued" flag and its place in `ready` (appends from now on queue a
 * kick of their own), takes the lock, reads up to n items from the head. When nothing is
 * pending the lock is released again in the same call (as RELEASE_IF_EMPTY would).
 * Returns false when another driver holds the key, else the items (possibly none).
 */
export const START = `
local base, key, token = ARGV[1], ARGV[2], ARGV[3]
redis.call('DEL', base .. 'kick:' .. key)
redis.call('ZREM', base .. 'ready', key)
local lock = base .. 'lock:' .. key
if not redis.call('SET', lock, token, 'PX', tonumber(ARGV[4]), 'NX') then return false end
local items = redis.call('ZRANGE', base .. 'q:' .. key, 0, tonumber(ARGV[5]) - 1)
if #items == 0 then
  redis.call('DEL', lock)
  redis.call('ZREM', base .. 'active', key)
end
return items
`;

/**
 * Acknowledge delivered items and read the next ones, in one call. ARGV: base, key, token,
 * upTo (acks every seq <= upTo; '' = nothing to ack), n.
 * The ack is unconditional (those items reached their destination whoever holds the lock
 * now). Returns {-1} when the lock is no longer ours, {0} when nothing is left (the lock is
 * released atomically with that, as RELEASE_IF_EMPTY), {1, item, …} with the next items.
 */
export const ACK_NEXT = `
local base, key, token = ARGV[1], ARGV[2], ARGV[3]
local q = base .. 'q:' .. key
if ARGV[4] ~= '' then redis.call('ZREMRANGEBYSCORE', q, '-inf', ARGV[4]) end
local lock = base .. 'lock:' .. key
if redis.call('GET', lock) ~= token then return {-1} end
local items = redis.call('ZRANGE', q, 0, tonumber(ARGV[5]) - 1)
if #items == 0 then
  redis.call('DEL', lock)
  redis.call('ZREM', base .. 'active', key)
  return {0}
end
local out = {1}
for i = 1, #items do out[i + 1] = items[i] end
return out
`;

/**
 * A driver takes more keys into its batch: keys whose kick is queued and not started (the
 * `ready` set, oldest first), as if their kicks had run now (START for each). ARGV: base,
 * token, lockMs, budget (most items in all), maxKeys (most keys looked at).
 * A key another driver holds is skipped (that driver delivers its items); a key with
 * nothing pending is released at once. The kick jobs of claimed keys still run later and
 * find the key driven or empty. Returns flat {key, count, item…, key, count, item…}; the
 * last key may have more items pending than it got (the driver reads them next round).
 */
export const CLAIM = `
local base, token, lockMs = ARGV[1], ARGV[2], tonumber(ARGV[3])
local budget, maxKeys = tonumber(ARGV[4]), tonumber(ARGV[5])
local out = {}
local ready = base .. 'ready'
local looked = 0
while budget > 0 and looked < maxKeys do
  local popped = redis.call('ZPOPMIN', ready)
  if #popped == 0 then break end
  looked = looked + 1
  local key = popped[1]
  local lock = base .. 'lock:' .. key
  if redis.call('SET', lock, token, 'PX', lockMs, 'NX') then
    -- Claimed: as if its kick started now (appends from now on queue a kick of their own).
    -- A key another driver holds keeps its flag: its queued kick still stands for later appends.
    redis.call('DEL', base .. 'kick:' .. key)
    local items = redis.call('ZRANGE', base .. 'q:' .. key, 0, budget - 1)
    if #items == 0 then
      redis.call('DEL', lock)
      redis.call('ZREM', base .. 'active', key)
    else
      out[#out + 1] = key
      out[#out + 1] = #items
      for i = 1, #items do out[#out + 1] = items[i] end
      budget = budget - #items
    end
  end
end
return out
`;

/** ARGV: base, token, ttlMs, key… Renews the locks still ours; returns the keys that are not. */
export const RENEW_MANY = `
local base, token, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3])
local lost = {}
for i = 4, #ARGV do
  local lock = base .. 'lock:' .. ARGV[i]
  if redis.call('GET', lock) == token then redis.call('PEXPIRE', lock, ttl) else lost[#lost + 1] = ARGV[i] end
end
return lost
`;

/**
 * A gathering lane's kick looks before it waits for a driver slot (without locking, so the
 * key stays claimable by the drivers that have a slot). ARGV: base, key.
 * Nothing pending: the kick is done, as START with nothing pending (flag and `ready` entry
 * cleared, so the next append queues a kick). Returns 1 when items are pending, else 0.
 */
export const PEEK = `
local base, key = ARGV[1], ARGV[2]
if redis.call('EXISTS', base .. 'q:' .. key) == 1 then return 1 end
redis.call('DEL', base .. 'kick:' .. key)
redis.call('ZREM', base .. 'ready', key)
return 0
`;

/**
 * One round of the sweep, in one call: looks at up to `limit` keys of `active` (oldest
 * first) from `offset`, and returns the keys that have been pending since `cutoff` or
 * earlier with no driver (no lock), with their head seq.
 * A round looks at a bounded slice; the next round continues after it (the offset it
 * returns; 0 = start over), so every key is looked at within a few rounds however many
 * chats there are, and no round reads them all. A key whose kick is queued may get a
 * second one (a no-op when it runs): the flag cannot tell a queued kick from a lost one.
 * ARGV: base, cutoff, offset, limit.
 * Returns {nextOffset, key, seq, key, seq, …}.
 */
export const SWEEP = `
local base, cutoff = ARGV[1], tonumber(ARGV[2])
local off, lim = tonumber(ARGV[3]), tonumber(ARGV[4])
local rows = redis.call('ZRANGE', base .. 'active', off, off + lim - 1, 'WITHSCORES')
local out = {0}
local looked = 0
for i = 1, #rows, 2 do
  local key = rows[i]
  if tonumber(rows[i + 1]) > cutoff then break end
  looked = looked + 1
  if redis.call('EXISTS', base .. 'lock:' .. key) == 0 then
    local head = redis.call('ZRANGE', base .. 'q:' .. key, 0, 0, 'WITHSCORES')
    if #head == 2 then
      out[#out + 1] = key
      out[#out + 1] = head[2]
    end
  end
end
if looked == lim then out[1] = off + lim end
return out
`;
