--[[
  Records a status event of an outbound message: the status moves forward only (queued →
  sent → failed → delivered → read, as STATUS_RANK in outbound-store.ts), so a late or
  repeated receipt never moves it back. The event's time and the messenger's ids are
  recorded even when the status itself does not move.

  Input:
    KEYS[1] the message's record hash

    ARGV[1] status
    ARGV[2] rank of the status
    ARGV[3] at: the event's ISO time (data, stored as `<status>At`)
    ARGV[4] error (the reason of `failed`)
    ARGV[5] errorCode
    ARGV[6] the messenger's ids, a JSON array ('' = none)

  Output:
    {outcome (missing|advanced|same|stale), chatId, operatorId}
]]
local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then return {'missing'} end
local ranks = { queued = 0, sent = 1, failed = 2, delivered = 3, read = 4 }
local status, rank, at = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local cur = redis.call('HGET', key, 'status') or 'queued'
local curRank = ranks[cur] or 0
redis.call('HSETNX', key, status .. 'At', at)
if ARGV[6] ~= '' then redis.call('HSET', key, 'nativeIds', ARGV[6]) end
local outcome = 'stale'
if rank > curRank then
  outcome = 'advanced'
  redis.call('HSET', key, 'status', status, 'updatedAt', at)
  if status == 'failed' then redis.call('HSET', key, 'error', ARGV[4], 'errorCode', ARGV[5]) end
  redis.call('HDEL', key, 'message')
elseif rank == curRank then
  outcome = 'same'
end
local ids = redis.call('HMGET', key, 'chatId', 'operatorId')
return {outcome, ids[1] or '', ids[2] or ''}
