--[[
  Slot reservation for several limits at once, on Redis's clock (issue 19 item 5): the GCRA
  state of rateGcra.lua (one "theoretical arrival time" per key, µs), but instead of "go now
  or ask again later" the caller is given a time: the earliest moment every limit allows the
  event. When that moment is close enough for every rule (each rule's own longest wait), every
  key is charged AT that moment and the caller goes then — the slot is its own, so many
  callers (processes, instances) waiting for one bot never race for the same slot and never
  go faster than the limit together. When any rule would make it wait longer than that rule
  allows, nothing is charged and the caller is told when to come back.

  Called with the number of keys first (one per rule).

  Input:
    KEYS[i] the rule's key (i = 1, 2, …)

    per rule i, integers (times in microseconds):
    ARGV[5i-4] interval: the average spacing of events
    ARGV[5i-3] tolerance: interval × (burst − 1)
    ARGV[5i-2] cost: slots this event uses
    ARGV[5i-1] maxWait: the longest wait this rule lets the caller reserve ahead
    ARGV[5i]   follow: 1 = this rule does not hold the booking back (nor refuse it); its key
               only moves on to at least the booked moment + interval × cost (a caller that
               books again for an event its earlier booking already counted)

  Output:
    { 1, wait, at }  reserved: every key charged; the caller goes in `wait` µs (0 = now), at
                     the moment `at` (µs, Redis's clock: what tests compare across callers)
    { 0, wait, i }  refused (nothing charged): no reservation before `wait` µs from now; rule i
                    is the one that asks for the longest wait
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local at = now
local refuse = 0
local refusedBy = 0
local tats = {}
for i = 1, #KEYS do
  local tolerance = tonumber(ARGV[5 * i - 3])
  local maxWait = tonumber(ARGV[5 * i - 1])
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
  if tat < now then tat = now end
  tats[i] = tat
  local allowAt = tat - tolerance
  if ARGV[5 * i] ~= '1' then
    if allowAt > at then at = allowAt end
    if allowAt - now > maxWait and allowAt - now - maxWait > refuse then
      refuse = allowAt - now - maxWait
      refusedBy = i
    end
  end
end
if refuse > 0 then return { 0, refuse, refusedBy } end
for i = 1, #KEYS do
  local interval = tonumber(ARGV[5 * i - 4])
  local cost = tonumber(ARGV[5 * i - 2])
  local tat = tats[i]
  if ARGV[5 * i] == '1' then
    if at + interval * cost > tat then tat = at + interval * cost end
  else
    if at > tat then tat = at end
    tat = tat + interval * cost
  end
  local ttlMs = math.ceil((tat - now) / 1000) + 1000
  redis.call('SET', KEYS[i], string.format('%.0f', tat), 'PX', ttlMs)
end
return { 1, at - now, at }
