-- Shared by every script of the limiter (prepended to each when it is loaded).
--
-- KEYS, the same for every script and all under one organization's hash tag:
--   1 token buckets (hash: name -> level, name .. ':t' -> when it was last written)
--   2 spend counters of the month (hash: 'org' or 'ws:<id>' -> micro-cents)
--   3 spend counters of the previous month
--   4 holds: reservations not yet settled (hash: id -> JSON of what they hold)
--   5 settled reservations, remembered for a while (hash: id -> the cost in cents, as text)
--   6 when each hold expires and each settled reservation may be forgotten (sorted set)
--   7 the usage queue (list of records, as JSON text)
-- ARGV[1] is one JSON object of named arguments.

local SPEND_COUNTER_SECONDS = 5184000 -- 60 days: a month's counters outlive the month

-- A token bucket refills continuously at capacity/60 per second, never above capacity.
local function refilled(tokens, at, capacity, now)
  if not tokens or not at then
    return capacity
  end
  return math.min(capacity, tokens + math.max(0, now - at) * capacity / 60)
end

local function bucket_level(name, capacity, now)
  local state = redis.call('HMGET', KEYS[1], name, name .. ':t')
  return refilled(tonumber(state[1]), tonumber(state[2]), capacity, now)
end

local function bucket_give_back(name, capacity, amount, now)
  if amount > 0 then
    local level = bucket_level(name, capacity, now)
    redis.call('HSET', KEYS[1], name, math.min(capacity, level + amount), name .. ':t', now)
  end
end

-- The counters key of a month, if it is one this script was given.
local function spend_key(month, this_month, previous_month)
  if month == this_month then
    return KEYS[2]
  elseif month == previous_month then
    return KEYS[3]
  end
  return nil
end

-- Counters that do not exist are left alone: they are rebuilt from the database.
local function spend_add(key, name, amount)
  if key and redis.call('HEXISTS', key, name) == 1 then
    return redis.call('HINCRBY', key, name, amount)
  end
  return nil
end

-- Holds past their time give their spend back; settled reservations past theirs are forgotten.
local function release_expired(now, this_month, previous_month)
  local ids = redis.call('ZRANGEBYSCORE', KEYS[6], '-inf', now, 'LIMIT', 0, 50)
  for _, id in ipairs(ids) do
    local raw = redis.call('HGET', KEYS[4], id)
    if raw then
      local hold = cjson.decode(raw)
      local key = spend_key(hold.month, this_month, previous_month)
      for _, spend in ipairs(hold.spend) do
        spend_add(key, spend[1], -spend[2])
      end
      redis.call('HDEL', KEYS[4], id)
    else
      redis.call('HDEL', KEYS[5], id)
    end
    redis.call('ZREM', KEYS[6], id)
  end
end

local function integers(values)
  local texts = {}
  for name, value in pairs(values) do
    texts[name] = string.format('%d', value)
  end
  return texts
end
