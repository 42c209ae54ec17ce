--[[
  GCRA rate limiting of several limits at once, on Redis's clock: each key stores its
  "theoretical arrival time" (µs). Allowed only when every limit allows, and then every key
  is charged; refused ones charge nothing (a caller refused by the bot-wide limit does not
  burn its chat's slot).

  Called with the number of keys first (one per rule).

  Input:
    KEYS[i] the rule's key (i = 1, 2, …)

    per rule i, integers in microseconds:
    ARGV[3i-2] interval: the average spacing of events
    ARGV[3i-1] tolerance: interval × (burst − 1)
    ARGV[3i]   cost: slots this event uses

  Output:
    0 allowed (every key charged), else microseconds until it would be allowed
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local wait = 0
local tats = {}
for i = 1, #KEYS do
  local interval = tonumber(ARGV[3 * i - 2])
  local tolerance = tonumber(ARGV[3 * i - 1])
  local cost = tonumber(ARGV[3 * i])
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
  if tat < now then tat = now end
  local allowAt = tat - tolerance
  if allowAt > now and allowAt - now > wait then wait = allowAt - now end
  tats[i] = tat + interval * cost
end
if wait > 0 then return wait end
for i = 1, #KEYS do
  local ttlMs = math.ceil((tats[i] - now) / 1000) + 1000
  redis.call('SET', KEYS[i], string.format('%.0f', tats[i]), 'PX', ttlMs)
end
return 0
