/**
 * Lua for chat routing state (one hash per chat: status, owner, group, queuedFor,
 * previousOwner, version). Every decision is one script, so concurrent callers on any
 * instance see a consistent chat: two operators replying at once give exactly one owner.
 * Empty strings stand for "none" (Redis hashes have no null).
 *
 * Outbox: a script that changes a chat also appends the routing event to the `routing`
 * lane (the per-chat sorted set of src/lanes/ordered-lane.ts) in the same atomic step.
 * Before, the event was appended by a second call after the script; a crash between the
 * two lost the event for good (the chat had changed, 1C never heard of it). Now the state
 * change and the event exist together or not at all. What may still be lost in a crash
 * is only the BullMQ *kick* that starts delivery at once — the lane's sweep finds the
 * pending chat (it is in `active`) and kicks it.
 *
 * Every key a script touches comes in KEYS (Redis Cluster routes by them). The lane keys
 * live under `<prefix>:lane:routing:` and the chat under `<prefix>:routing:`: in a
 * cluster both need the same slot, i.e. a `{hash tag}` in QUEUE_PREFIX (connector-api.md).
 *
 * The lane's dedupe key (`id:<event id>`) is NOT written: the event id holds the version
 * the script itself increments, so it is unknown before the call (KEYS must be known) and
 * the event is born here exactly once — there is no second append to deduplicate. 1C
 * still deduplicates by event id.
 */

/**
 * The shared outbox part. Appends one event to the routing lane exactly as the lane's
 * APPEND would (src/lanes/lane-scripts.ts — keep the two in step): per-chat seq, the item
 * `{"seq":N,…body}` in `q:<chat>` scored by seq, the chat in `active` (for the sweep),
 * and the kick flag. `o` is the index of the first lane key in KEYS:
 * KEYS[o] lane `seq` hash, KEYS[o+1] lane `q:<chat>`, KEYS[o+2] lane `active`, KEYS[o+3] lane `kick:<chat>`.
 * Returns seq, kick (1 = the caller should add a kick job; 0 = one is already queued).
 */
const OUTBOX = `
local function nz(v) if v == nil or v == '' then return cjson.null end return v end
local function outbox(o, chatId, nowMs, kickTtl, ev)
  local seq = redis.call('HINCRBY', KEYS[o], chatId, 1)
  local body = cjson.encode(ev)
  -- The lane stores the seq inside the member (members must be unique; see ordered-lane.ts).
  redis.call('ZADD', KEYS[o + 1], seq, '{"seq":' .. seq .. ',' .. string.sub(body, 2))
  redis.call('ZADD', KEYS[o + 2], 'NX', tonumber(nowMs), chatId)
  local kick = 0
  if redis.call('SET', KEYS[o + 3], '1', 'NX', 'EX', tonumber(kickTtl)) then kick = 1 end
  return seq, kick
end
local function event(chatId, v, etype, opid, group, comment, at, actor)
  local ev = {id = chatId .. ':routing:' .. v, chatId = chatId, type = etype, operatorId = nz(opid), group = nz(group), at = at, actor = actor}
  -- Like toOnecEvent (routing-lane.ts): the comment only when there is one.
  if comment ~= nil and comment ~= '' then ev.comment = comment end
  return ev
end
`;

/**
 * Who may change a chat (connector-api.md, transfer/close): the API (actor kind `api`) or
 * the connector itself (`system`: assignment by settings), the
 * owner, or — while the chat is queued — an operator it is queued for, or one of its group.
 * `actorGroups` is a JSON array (the operator's groups at login).
 */
const MAY_ACT = `
local function mayAct(kind, actor, actorGroups, status, owner, group, qf)
  if kind == 'api' or kind == 'system' then return true end
  if owner ~= '' and owner == actor then return true end
  if status ~= 'queued' then return false end
  if qf ~= '' and qf == actor then return true end
  if group == '' then return false end
  for _, g in ipairs(cjson.decode(actorGroups)) do
    if g == group then return true end
  end
  return false
end
`;

/**
 * The route of one inbound message, remembered per message id (idempotent redelivery).
 * KEYS: chat hash, decision key, then the 4 lane keys (see OUTBOX).
 * ARGV: nowIso, ttlS, defaultGroup, ruleGroup, ruleUser, previous-owner candidate,
 * candidate online (1/0), chatId, nowMs, kickTtlS, assignTo (a new chat goes straight to
 * this operator, event `assigned` by `system` — the duty operator; '' = queue it).
 * Returns {decision JSON, fresh (1/0), lane seq (0 = no event), kick (1/0)}.
 */
export const ROUTE_MESSAGE =
  OUTBOX +
  `
local chat, dkey = KEYS[1], KEYS[2]
local now, ttl, defGroup, ruleGroup, ruleUser, cand, candOnline = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local chatId, nowMs, kickTtl, assignTo = ARGV[8], ARGV[9], ARGV[10], ARGV[11] or ''
local d = redis.call('GET', dkey)
-- A redelivered message: its event (if any) went to the outbox with the first decision.
if d then return {d, 0, 0, 0} end
local st = redis.call('HMGET', chat, 'status', 'owner', 'group', 'queuedFor', 'previousOwner')
local status, owner, group, qf, prev = st[1] or '', st[2] or '', st[3] or '', st[4] or '', st[5] or ''
local etype = ''
if status == '' then
  status = 'queued'; owner = ''
  if ruleGroup ~= '' then group = ruleGroup elseif ruleUser ~= '' then group = '' else group = defGroup end
  qf = ruleUser
  etype = 'queued'
  if assignTo ~= '' then status = 'assigned'; owner = assignTo; qf = ''; etype = 'assigned' end
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
local seq, kick = 0, 0
local opid = owner
if status == 'queued' then opid = qf end
if etype ~= '' then
  version = redis.call('HINCRBY', chat, 'version', 1)
  redis.call('HSET', chat, 'status', status, 'owner', owner, 'group', group, 'queuedFor', qf, 'previousOwner', prev, 'updatedAt', now)
  seq, kick = outbox(3, chatId, nowMs, kickTtl, event(chatId, version, etype, opid, group, '', now, 'system'))
end
local out = cjson.encode({status = status, operatorId = opid, group = group, event = etype, version = version, at = now, previousOwner = prev})
redis.call('SET', dkey, out, 'EX', tonumber(ttl))
return {out, 1, seq, kick}
`;

/**
 * The first operator who replies becomes the owner (the actor is that operator).
 * KEYS: chat hash, then the 4 lane keys. ARGV: operatorId, nowIso, defaultGroup, chatId, nowMs, kickTtlS.
 * Returns {0} (no change) or {1, version, group, previousOwner, seq, kick}.
 */
export const CLAIM =
  OUTBOX +
  `
local st = redis.call('HMGET', KEYS[1], 'status', 'owner', 'group', 'previousOwner')
local status, owner, group, prev = st[1] or '', st[2] or '', st[3] or '', st[4] or ''
if status == 'assigned' and owner ~= '' then return {0} end
if group == '' then group = ARGV[3] end
local v = redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('HSET', KEYS[1], 'status', 'assigned', 'owner', ARGV[1], 'group', group, 'queuedFor', '', 'previousOwner', prev, 'updatedAt', ARGV[2])
local seq, kick = outbox(2, ARGV[4], ARGV[5], ARGV[6], event(ARGV[4], v, 'assigned', ARGV[1], group, '', ARGV[2], ARGV[1]))
return {1, v, group, prev, seq, kick}
`;

/**
 * Transfer to an operator (assigned to them) or to a group (queued for it). The actor's
 * right is checked here, on the state it changes, so an owner changing in between cannot
 * slip through a check made before the call.
 * KEYS: chat hash, then the 4 lane keys.
 * ARGV: toOperator, toGroup, nowIso, actorKind (api|operator), actor, actorGroups JSON,
 * comment, chatId, nowMs, kickTtlS.
 * Returns {-1} (unknown chat), {-2} (the actor may not act on it) or
 * {1, version, status, owner, group, previousOwner, seq, kick}.
 */
export const TRANSFER =
  OUTBOX +
  MAY_ACT +
  `
local st = redis.call('HMGET', KEYS[1], 'status', 'owner', 'group', 'previousOwner', 'queuedFor')
local status, owner, group, prev, qf = st[1] or '', st[2] or '', st[3] or '', st[4] or '', st[5] or ''
if status == '' then return {-1} end
if not mayAct(ARGV[4], ARGV[5], ARGV[6], status, owner, group, qf) then return {-2} end
if owner ~= '' then prev = owner end
if ARGV[1] ~= '' then
  status = 'assigned'; owner = ARGV[1]
  if ARGV[2] ~= '' then group = ARGV[2] end
else
  status = 'queued'; owner = ''; group = ARGV[2]
end
local v = redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('HSET', KEYS[1], 'status', status, 'owner', owner, 'group', group, 'queuedFor', '', 'previousOwner', prev, 'updatedAt', ARGV[3])
local seq, kick = outbox(2, ARGV[8], ARGV[9], ARGV[10], event(ARGV[8], v, 'transferred', owner, group, ARGV[7], ARGV[3], ARGV[5]))
return {1, v, status, owner, group, prev, seq, kick}
`;

/**
 * Close: the owner becomes the previous owner (a new message reopens the chat with them).
 * KEYS: chat hash, then the 4 lane keys.
 * ARGV: nowIso, actorKind, actor, actorGroups JSON, chatId, nowMs, kickTtlS.
 * Returns {-1} (unknown chat), {-2} (the actor may not act on it), {0} (already closed)
 * or {1, version, group, previousOwner, seq, kick}.
 */
export const CLOSE =
  OUTBOX +
  MAY_ACT +
  `
local st = redis.call('HMGET', KEYS[1], 'status', 'owner', 'group', 'previousOwner', 'queuedFor')
local status, owner, group, prev, qf = st[1] or '', st[2] or '', st[3] or '', st[4] or '', st[5] or ''
if status == '' then return {-1} end
if not mayAct(ARGV[2], ARGV[3], ARGV[4], status, owner, group, qf) then
  -- Closing a closed chat again changes nothing; only its previous owner and the API learn that.
  if status == 'closed' and prev == ARGV[3] then return {0} end
  return {-2}
end
if status == 'closed' then return {0} end
if owner ~= '' then prev = owner end
local v = redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('HSET', KEYS[1], 'status', 'closed', 'owner', '', 'queuedFor', '', 'previousOwner', prev, 'updatedAt', ARGV[1])
local seq, kick = outbox(2, ARGV[5], ARGV[6], ARGV[7], event(ARGV[5], v, 'closed', '', group, '', ARGV[1], ARGV[3]))
return {1, v, group, prev, seq, kick}
`;
