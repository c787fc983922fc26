-- Authorize one request: admit and consume every bucket and spend counter, or change nothing.
-- ARGV[1], named: now, month, previous_month, id, expires_at, the request's amounts
-- (input and output tokens, cost in micro-cents), buckets [[name, capacity, kind]] (kind
-- 'requests', 'input' or 'output': how much it takes), spends [[name, [[limit, tag]]]].
-- ARGV[2]: the hold to keep until the reservation settles or expires, as JSON text.
-- Answers an array: 'admitted' and each bucket's level after it; 'bucket', the index of
-- the one that refused and every level; 'spend', the index of the counter that refused,
-- the limit's tag and the counter's value; 'missing' and the counters to rebuild; or
-- 'cancelled' (changing nothing).
-- Levels are given in thousandths of a token, as integers (the cheapest answer to send).
local args = cjson.decode(ARGV[1])
local now = args.now
release_expired(now, args.month, args.previous_month)
-- Settled already: a check whose answer was lost, cancelled before it got here.
if redis.call('HEXISTS', KEYS[5], args.id) == 1 then
  return {'cancelled'}
end

local spends = args.spends
local names = {}
for i, spend in ipairs(spends) do
  names[i] = spend[1]
end
local used = redis.call('HMGET', KEYS[2], unpack(names))
local missing = {'missing'}
for i = 1, #spends do
  if not used[i] then
    missing[#missing + 1] = names[i]
  end
end
if #missing > 1 then
  return missing
end

local amounts = {requests = 1, input = args.input, output = args.output}
local buckets = args.buckets
local fields = {}
for i, bucket in ipairs(buckets) do
  fields[2 * i - 1] = bucket[1]
  fields[2 * i] = bucket[1] .. ':t'
end
local state = {}
if #fields > 0 then
  state = redis.call('HMGET', KEYS[1], unpack(fields))
end
local levels = {}
local refused = nil
for i, bucket in ipairs(buckets) do
  levels[i] = refilled(tonumber(state[2 * i - 1]), tonumber(state[2 * i]), bucket[2], now)
  if not refused and levels[i] < amounts[bucket[3]] then
    refused = i
  end
end
if refused then
  local answer = {'bucket', refused}
  for i = 1, #levels do
    answer[i + 2] = math.floor(levels[i] * 1000)
  end
  return answer
end
for i, spend in ipairs(spends) do
  for _, limit in ipairs(spend[2]) do
    if tonumber(used[i]) + args.cost > limit[1] then
      return {'spend', i, limit[2], used[i]}
    end
  end
end

local answer = {'admitted'}
local writes = {}
for i, bucket in ipairs(buckets) do
  levels[i] = levels[i] - amounts[bucket[3]]
  answer[i + 1] = math.floor(levels[i] * 1000)
  writes[#writes + 1] = bucket[1]
  writes[#writes + 1] = levels[i]
  writes[#writes + 1] = bucket[1] .. ':t'
  writes[#writes + 1] = now
end
if #writes > 0 then
  redis.call('HSET', KEYS[1], unpack(writes))
end
for i = 1, #spends do
  redis.call('HINCRBY', KEYS[2], names[i], args.cost)
end
redis.call('HSET', KEYS[4], args.id, ARGV[2])
redis.call('ZADD', KEYS[6], args.expires_at, args.id)
return answer
