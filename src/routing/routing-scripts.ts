/**
 * Lua for chat routing state (one hash per chat: status, owner, group, queuedFor,
 * previousOwner, version). Every decision is one script, so concurrent callers on any
 * instance see a consistent chat: two operators replying at once give exactly one owner.
 * Empty strings stand for "none" (Redis hashes have no null).
 */

/**
 * The route of one inbound message, remembered per message id (idempotent redelivery).
 * KEYS: chat hash, decision key.
 * ARGV: nowIso, ttlS, defaultGroup, ruleGroup, ruleUser, previous-owner candidate, candidate online (1/0).
 * Returns {decision JSON, fresh (1/0)}.
 */
export const ROUTE_MESSAGE = `
local chat, dkey = KEYS[1], KEYS[2]
local now, ttl, defGroup, ruleGroup, ruleUser, cand, candOnline = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local d = redis.call('GET', dkey)
if d then return {d, 0} end
local st = redis.call('HMGET', chat, 'status', 'owner', 'group', 'queuedFor', 'previousOwner')
local status, owner, group, qf, prev = st[1] or '', st[2] or '', st[3] or '', st[4] or '', st[5] or ''
local etype = ''
if status == '' then
  status = 'queued'; owner = ''
  if ruleGroup ~= '' then group = ruleGroup elseif ruleUser ~= '' then group = '' else group = defGroup end
  qf = ruleUser
  etype = 'queued'
elseif status == 'closed' then
  if prev ~= '' and prev == cand and candOnline == '1' then
    status = 'assigned'; owner = prev
  else
    status = 'queued'; owner = ''
    if group == '' then group = defGroup end
  end
  qf = ''
  etype = 'reopened'
end
local version = 0
if etype ~= '' then
  version = redis.call('HINCRBY', chat, 'version', 1)
  redis.call('HSET', chat, 'status', status, 'owner', owner, 'group', group, 'queuedFor', qf, 'previousOwner', prev, 'updatedAt', now)
end
local opid = owner
if status == 'queued' then opid = qf end
local out = cjson.encode({status = status, operatorId = opid, group = group, event = etype, version = version, at = now, previousOwner = prev})
redis.call('SET', dkey, out, 'EX', tonumber(ttl))
return {out, 1}
`;

/**
 * The first operator who replies becomes the owner.
 * KEYS: chat hash. ARGV: operatorId, nowIso, defaultGroup.
 * Returns {0} (no change) or {1, version, group, previousOwner}.
 */
export const CLAIM = `
local st = redis.call('HMGET', KEYS[1], 'status', 'owner', 'group', 'previousOwner')
local status, owner, group, prev = st[1] or '', st[2] or '', st[3] or '', st[4] or ''
if status == 'assigned' and owner ~= '' then return {0} end
if group == '' then group = ARGV[3] end
local v = redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('HSET', KEYS[1], 'status', 'assigned', 'owner', ARGV[1], 'group', group, 'queuedFor', '', 'previousOwner', prev, 'updatedAt', ARGV[2])
return {1, v, group, prev}
`;

/**
 * Transfer to an operator (assigned to them) or to a group (queued for it).
 * KEYS: chat hash. ARGV: toOperator, toGroup, nowIso.
 * Returns {-1} (unknown chat) or {1, version, status, owner, group, previousOwner}.
 */
export const TRANSFER = `
local st = redis.call('HMGET', KEYS[1], 'status', 'owner', 'group', 'previousOwner')
local status, owner, group, prev = st[1] or '', st[2] or '', st[3] or '', st[4] or ''
if status == '' then return {-1} end
if owner ~= '' then prev = owner end
if ARGV[1] ~= '' then
  status = 'assigned'; owner = ARGV[1]
  if ARGV[2] ~= '' then group = ARGV[2] end
else
  status = 'queued'; owner = ''; group = ARGV[2]
end
local v = redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('HSET', KEYS[1], 'status', status, 'owner', owner, 'group', group, 'queuedFor', '', 'previousOwner', prev, 'updatedAt', ARGV[3])
return {1, v, status, owner, group, prev}
`;

/**
 * Close: the owner becomes the previous owner (a new message reopens the chat with them).
 * KEYS: chat hash. ARGV: nowIso.
 * Returns {-1} (unknown chat), {0} (already closed) or {1, version, group, previousOwner}.
 */
export const CLOSE = `
local st = redis.call('HMGET', KEYS[1], 'status', 'owner', 'group', 'previousOwner')
local status, owner, group, prev = st[1] or '', st[2] or '', st[3] or '', st[4] or ''
if status == '' then return {-1} end
if status == 'closed' then return {0} end
if owner ~= '' then prev = owner end
local v = redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('HSET', KEYS[1], 'status', 'closed', 'owner', '', 'queuedFor', '', 'previousOwner', prev, 'updatedAt', ARGV[1])
return {1, v, group, prev}
`;
