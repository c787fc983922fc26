-- Authorize one request: admit and consume every bucket and spend counter, or change nothing.
--
-- It runs on every request, so unlike the other scripts it takes positional arguments, the
-- same for every request of a workspace and model group after the first nine: decoding a
-- JSON object into Lua tables took a quarter of its time. In order:
--   1 now, 2 month, 3 previous_month, 4 id, 5 expires_at, 6 input tokens, 7 output tokens
--     (the request's max_tokens), 8 cost (its worst case, micro-cents), 9 hold (JSON text,
--     kept until the reservation settles or expires);
--   then the check plan: B and S, how many buckets and spend counters; B pairs of bucket
--   fields (name, name .. ':t'); B capacities; B kinds ('requests', 'input' or 'output':
--   how much the request takes of it); S spend counter names; and for each spend counter
--   the number of its limits, then each limit and its tag.
-- KEYS 1 to 6, as for the other scripts (common.lua).
-- Answers an array: 'admitted' and each bucket's level after it; 'bucket', the index of
-- the one that refused and every level; 'spend', the index of the counter that refused,
-- the limit's tag and the counter's value; 'missing' and the counters to rebuild; or
-- 'cancelled' (changing nothing).
-- Levels are given in thousandths of a token, as integers (the cheapest answer to send).
local now = tonumber(ARGV[1])
local month, previous_month, id, expires_at = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local amounts = {requests = 1, input = tonumber(ARGV[6]), output = tonumber(ARGV[7])}
local cost = tonumber(ARGV[8])
local hold = ARGV[9]
local buckets, spends = tonumber(ARGV[10]), tonumber(ARGV[11])
-- Where each part of the plan starts.
local FIELDS = 12
local CAPACITIES = FIELDS + 2 * buckets
local KINDS = CAPACITIES + buckets
local SPENDS = KINDS + buckets
local LIMITS = SPENDS + spends

-- Expired holds are given back (see common.lua) before a spend limit refuses, and on about
-- one check in eight (each gives back up to 50, so they never pile up); settles do it too.
local released = false
local function release()
  release_expired(now, month, previous_month)
  released = true
end
if math.floor(now * 1000) % 8 == 0 then
  release()
end
-- Settled already: a check whose answer was lost, cancelled before it got here.
if redis.call('HEXISTS', KEYS[5], id) == 1 then
  return {'cancelled'}
end

local function spent()
  if spends == 0 then
    return {}
  end
  return redis.call('HMGET', KEYS[2], unpack(ARGV, SPENDS, LIMITS - 1))
end
local used = spent()
local missing = nil
for i = 1, spends do
  if not used[i] then
    missing = missing or {'missing'}
    missing[#missing + 1] = ARGV[SPENDS + i - 1]
  end
end
if missing then
  return missing
end

local state = {}
if buckets > 0 then
  state = redis.call('HMGET', KEYS[1], unpack(ARGV, FIELDS, CAPACITIES - 1))
end
local levels = {}
local refused = nil
for i = 1, buckets do
  levels[i] = refilled(
    tonumber(state[2 * i - 1]), tonumber(state[2 * i]), tonumber(ARGV[CAPACITIES + i - 1]), now
  )
  if not refused and levels[i] < amounts[ARGV[KINDS + i - 1]] then
    refused = i
  end
end
if refused then
  local answer = {'bucket', refused}
  for i = 1, buckets do
    answer[i + 2] = math.floor(levels[i] * 1000)
  end
  return answer
end
-- The first spend limit the request does not fit in: its counter's index and the limit's.
local function over_limit()
  local position = LIMITS
  for i = 1, spends do
    local limits = tonumber(ARGV[position])
    for j = 1, limits do
      if tonumber(used[i]) + cost > tonumber(ARGV[position + 2 * j - 1]) then
        return i, position + 2 * j
      end
    end
    position = position + 1 + 2 * limits
  end
  return nil
end
local spend, tag = over_limit()
if spend and not released then
  release()
  used = spent()
  spend, tag = over_limit()
end
if spend then
  return {'spend', spend, ARGV[tag], used[spend]}
end

local answer = {'admitted'}
local writes = {}
for i = 1, buckets do
  levels[i] = levels[i] - amounts[ARGV[KINDS + i - 1]]
  answer[i + 1] = math.floor(levels[i] * 1000)
  writes[4 * i - 3] = ARGV[FIELDS + 2 * i - 2]
  writes[4 * i - 2] = levels[i]
  writes[4 * i - 1] = ARGV[FIELDS + 2 * i - 1]
  writes[4 * i] = now
end
if buckets > 0 then
  redis.call('HSET', KEYS[1], unpack(writes))
end
local counters = {}
for i = 1, spends do
  counters[2 * i - 1] = ARGV[SPENDS + i - 1]
  counters[2 * i] = string.format('%d', tonumber(used[i]) + cost)
end
if spends > 0 then
  redis.call('HSET', KEYS[2], unpack(counters))
end
redis.call('HSET', KEYS[4], id, hold)
redis.call('ZADD', KEYS[6], expires_at, id)
return answer
