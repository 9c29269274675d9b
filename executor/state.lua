-- The state store's atomic steps (see state_store.py). One script, dispatched on ARGV[1], so the
-- helpers below are shared. KEYS = {meta, state, pending} of one partition.
local meta, state, pending = KEYS[1], KEYS[2], KEYS[3]
local op = ARGV[1]

local function fenced(epoch, token)
  return redis.call('HGET', meta, 'token') ~= token or redis.call('HGET', meta, 'epoch') ~= epoch
end

-- Moves the staged writes into the committed state and records the offset they reflect.
local function apply_pending(offset)
  local items = redis.call('HGETALL', pending)
  for i = 1, #items, 2 do
    local value = items[i + 1]
    if string.sub(value, 1, 1) == 's' then
      redis.call('HSET', state, items[i], string.sub(value, 2))
    else
      redis.call('HDEL', state, items[i])
    end
  end
  redis.call('DEL', pending)
  redis.call('HDEL', meta, 'pending_offset')
  redis.call('HSET', meta, 'offset', offset)
end

-- claim(epoch, owner, token, force): "stale" if a newer epoch owns the partition, "wait" while
-- another owner has not released it (unless forced), else takes it.
local function claim(epoch, owner, token, force)
  if tonumber(redis.call('HGET', meta, 'epoch') or '-1') > tonumber(epoch) then return 'stale' end
  local current = redis.call('HGET', meta, 'owner')
  if current and current ~= owner and redis.call('HGET', meta, 'released') ~= '1' and force ~= '1' then
    return 'wait'
  end
  redis.call('HSET', meta, 'epoch', epoch, 'owner', owner, 'token', token, 'released', '0')
  return 'ok'
end

-- prepare(epoch, token, base, offset, key1, value1, ...): stages one batch's writes. `base` is
-- the input offset the batch started from (-1: the beginning); a cache that does not reflect it
-- (emptied, or reverted to an old snapshot) answers 'behind' and is restored before going on.
local function prepare(epoch, token, base, offset)
  if fenced(epoch, token) then return 'fenced' end
  if tonumber(redis.call('HGET', meta, 'offset') or '-1') ~= tonumber(base) then return 'behind' end
  redis.call('DEL', pending)
  for i = 6, #ARGV, 2 do redis.call('HSET', pending, ARGV[i], ARGV[i + 1]) end
  redis.call('HSET', meta, 'pending_offset', offset)
  return 'ok'
end

-- finalize(epoch, token, offset): the Kafka transaction committed; idempotent.
local function finalize(epoch, token, offset)
  if fenced(epoch, token) then return 'fenced' end
  local staged = redis.call('HGET', meta, 'pending_offset')
  if not staged then
    if redis.call('HGET', meta, 'offset') == offset then return 'ok' end
    return 'missing'
  end
  if staged ~= offset then return 'missing' end
  apply_pending(offset)
  return 'ok'
end

-- recover(epoch, token, committed, stateful): Kafka's committed offset (-1: none) decides the
-- fate of a staged batch; returns {status, offset the cache reflects or -1}: 'behind' when a
-- stateful cache does not reflect the committed offset (it is then restored from the changelog).
local function recover(epoch, token, committed, stateful)
  if fenced(epoch, token) then return {'fenced', -1} end
  committed = tonumber(committed)
  local staged = redis.call('HGET', meta, 'pending_offset')
  if staged then
    if tonumber(staged) == committed then
      apply_pending(staged)
    else
      redis.call('DEL', pending)
      redis.call('HDEL', meta, 'pending_offset')
    end
  end
  local offset = tonumber(redis.call('HGET', meta, 'offset') or '-1')
  if committed < 0 or offset == committed then return {'ok', offset} end
  if stateful ~= '1' then
    redis.call('HSET', meta, 'offset', committed)
    return {'ok', committed}
  end
  return {'behind', offset}
end

-- restore(epoch, token, first, done, offset, sets, key1, value1, ..., deleted1, ...): replaces the
-- cache with the changelog's content, one chunk per call: `sets` key/value pairs, then keys to
-- delete. The first chunk empties the partition and forgets its offset, so a restore cut short is
-- seen as 'behind' and done again; the last (`done`) records the offset the state reflects.
local function restore(epoch, token, first, done, offset, sets)
  if fenced(epoch, token) then return 'fenced' end
  if first == '1' then
    redis.call('DEL', state, pending)
    redis.call('HDEL', meta, 'offset', 'pending_offset')
  end
  local from, last = 8, 7 + 2 * tonumber(sets)
  for i = from, last, 4000 do redis.call('HSET', state, unpack(ARGV, i, math.min(i + 3999, last))) end
  for i = last + 1, #ARGV, 4000 do redis.call('HDEL', state, unpack(ARGV, i, math.min(i + 3999, #ARGV))) end
  if done == '1' and tonumber(offset) >= 0 then redis.call('HSET', meta, 'offset', offset) end
  return 'ok'
end

-- release(epoch, token): the owner committed its last batch and stopped consuming.
local function release(epoch, token)
  if fenced(epoch, token) then return 'fenced' end
  redis.call('HSET', meta, 'released', '1')
  return 'ok'
end

if op == 'claim' then return claim(ARGV[2], ARGV[3], ARGV[4], ARGV[5]) end
if op == 'prepare' then return prepare(ARGV[2], ARGV[3], ARGV[4], ARGV[5]) end
if op == 'finalize' then return finalize(ARGV[2], ARGV[3], ARGV[4]) end
if op == 'recover' then return recover(ARGV[2], ARGV[3], ARGV[4], ARGV[5]) end
if op == 'release' then return release(ARGV[2], ARGV[3]) end
if op == 'restore' then return restore(ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]) end
return redis.error_reply('unknown op ' .. tostring(op))
