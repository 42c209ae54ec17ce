--[[
  mayAct(kind, actor, actorGroups, status, owner, group, queuedFor): who may change a chat
  (connector-api.md, transfer/close): the API (actor kind `api`) or the connector itself
  (`system`: assignment by settings), the owner, or — while the chat is queued — an
  operator it is queued for, or one of its group. `actorGroups` is a JSON array (the
  operator's groups at login). Mirrored for the early answer in src/operators/chat-actions.ts.
]]
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
