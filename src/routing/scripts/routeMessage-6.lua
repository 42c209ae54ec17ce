--[[
  The route of one inbound message, remembered per message id (idempotent redelivery). A
  new chat is queued (or assigned to `assignTo`); a closed one reopens, with its previous
  owner when they are online. A decision that changes the chat appends its event to the
  routing lane in the same step (the outbox).

  Input:
    KEYS[1] the chat's routing hash
    KEYS[2] the message's decision key
    KEYS[3] the routing lane's `seq` hash
    KEYS[4] the routing lane's `q:<chat>`
    KEYS[5] the routing lane's `active` zset
    KEYS[6] the routing lane's `kick:<chat>`

    ARGV[1] at: the decision's time, ISO (data: the event's `at`, the chat's `updatedAt`)
    ARGV[2] ttlS: how long the decision is remembered
    ARGV[3] the default group
    ARGV[4] the group a keyword rule picked ('' = none)
    ARGV[5] the operator a keyword rule picked ('' = none)
    ARGV[6] the previous owner candidate
    ARGV[7] the candidate is online (1|0)
    ARGV[8] the chat id
    ARGV[9] nowMs: a stamp, the caller's clock (the lane's `active` score)
    ARGV[10] kickTtlS: the kick flag's TTL
    ARGV[11] assignTo: a new chat goes straight to this operator, event `assigned` by
             `system` (the duty operator); '' = queue it

  Output:
    {decision JSON, fresh (1|0), lane seq (0 = no event), kick (1|0)}
]]
--- @include "includes/outbox"
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
