-- Authorize one request: admit and consume every bucket and spend counter, or change nothing.
-- Arguments: now, month, previous_month, buckets [{name, capacity, amount}],
-- spends [{name, amount, limits [{limit, tag}]}], id, hold (JSON text), expires_at.
local args = cjson.decode(ARGV[1])
local now = args.now
release_expired(now, args.month, args.previous_month)

local used = {}
local missing = {}
for i, spend in ipairs(args.spends) do
  local value = redis.call('HGET', KEYS[2], spend.name)
  if value then
    used[i] = tonumber(value)
  else
    missing[#missing + 1] = spend.name
  end
end
if #missing > 0 then
  return cjson.encode({admitted = false, missing = missing})
end

local levels = {}
for _, bucket in ipairs(args.buckets) do
  levels[bucket.name] = bucket_level(bucket.name, bucket.capacity, now)
end
for _, bucket in ipairs(args.buckets) do
  if levels[bucket.name] < bucket.amount then
    return cjson.encode({admitted = false, bucket = bucket.name, levels = levels})
  end
end
for i, spend in ipairs(args.spends) do
  for _, limit in ipairs(spend.limits) do
    if used[i] + spend.amount > limit.limit then
      return cjson.encode({
        admitted = false, spend = spend.name, tag = limit.tag,
        used = string.format('%d', used[i]), levels = levels,
      })
    end
  end
end

for _, bucket in ipairs(args.buckets) do
  levels[bucket.name] = levels[bucket.name] - bucket.amount
  redis.call('HSET', KEYS[1], bucket.name, levels[bucket.name], bucket.name .. ':t', now)
end
for _, spend in ipairs(args.spends) do
  redis.call('HINCRBY', KEYS[2], spend.name, spend.amount)
end
redis.call('HSET', KEYS[4], args.id, args.hold)
redis.call('ZADD', KEYS[6], args.expires_at, args.id)
redis.call('EXPIRE', KEYS[2], SPEND_COUNTER_SECONDS)
return cjson.encode({admitted = true, levels = levels})
