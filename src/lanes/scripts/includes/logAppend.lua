--[[
  Appends entries to the update log: one XADD per (type, payload) pair of ARGV from index
  `first` on, in order, then the meta hash's `last` (the newest id, which GET /updates and
  the drainer read). Shared by laneHandoff (one Redis: lane and log in one script) and
  updateLogAppendOnce (sharded lanes: the log's own slot).

  logAppend(s, m, first): KEYS[s] is the log's stream, KEYS[m] its meta hash; returns the
  number of entries added.
]]
local function logAppend(s, m, first)
  local id = nil
  local n = 0
  local i = first
  while i <= #ARGV do
    id = redis.call('XADD', KEYS[s], '*', 't', ARGV[i], 'u', ARGV[i + 1])
    n = n + 1
    i = i + 2
  end
  if id then redis.call('HSET', KEYS[m], 'last', id) end
  return n
end
