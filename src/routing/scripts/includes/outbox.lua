--[[
  The routing outbox: appends one event to the routing lane exactly as the lane's own
  laneAppend would (src/lanes/scripts/laneAppend.lua — keep the two in step): per-chat seq,
  the item `{"seq":N,…body}` in `q:<chat>` scored by seq, the chat in `active` (for the
  sweep), and the kick flag. Also `nz` and `event`, which build the event's body.

  outbox(o, chatId, nowMs, kickTtl, ev): `o` is the index of the first lane key in KEYS:
    KEYS[o]   the lane's `seq` hash
    KEYS[o+1] the lane's `q:<chat>`
    KEYS[o+2] the lane's `active` zset
    KEYS[o+3] the lane's `kick:<chat>`
  nowMs is a stamp (the `active` score, the caller's clock). Returns seq, kick (1 = the
  caller should add a kick job; 0 = one is already queued).
]]
local function nz(v) if v == nil or v == '' then return cjson.null end return v end
local function outbox(o, chatId, nowMs, kickTtl, ev)
  local seq = redis.call('HINCRBY', KEYS[o], chatId, 1)
  local body = cjson.encode(ev)
  -- The lane stores the seq inside the member: the JSON text with `"seq":N,` spliced in after
  -- its `{` (members must be unique; the body here is a non-empty object; see laneAppend.lua).
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
