--[[
  Gives a login attempt's place back and records its outcome: a success clears the
  workstation user's failures; a bad password counts a failure for the user and the
  address, and beyond the free ones blocks each for base·2^k ms (up to max). A count is
  forgotten `windowMs` after its last failure.

  Input:
    KEYS[1..5] as loginThrottleBegin-5: user failures, address failures, user in-flight,
               address in-flight, overall pending

    ARGV[1] now: '' = Redis TIME (ms); a number only from a test's clock
    ARGV[2] attemptId
    ARGV[3] outcome (ok|bad|other)
    ARGV[4] freeFailuresUser
    ARGV[5] freeFailuresAddress
    ARGV[6] baseBlockMs
    ARGV[7] maxBlockMs
    ARGV[8] windowMs

  Output:
    {user block ms, address block ms} the failure set (0 = none)
]]
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
for i = 3, 5 do redis.call('ZREM', KEYS[i], ARGV[2]) end
local out = {0, 0}
if ARGV[3] == 'ok' then
  redis.call('DEL', KEYS[1])
elseif ARGV[3] == 'bad' then
  local base, max, window = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
  for i = 1, 2 do
    local free = tonumber(ARGV[3 + i])
    local fails = redis.call('HINCRBY', KEYS[i], 'fails', 1)
    local block = 0
    if fails > free then
      -- 2^(n-1) stays an exact integer in a Lua double far beyond every cap we use.
      block = math.min(base * math.pow(2, fails - free - 1), max)
      redis.call('HSET', KEYS[i], 'until', now + block)
    end
    redis.call('PEXPIRE', KEYS[i], math.max(window, block))
    out[i] = block
  end
end
return out
