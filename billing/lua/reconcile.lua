-- Set the month's spend counters to what the database recorded plus what is still in flight:
-- the holds of reservations not settled yet and the records queued but not stored.
-- Arguments: month, recorded ({name: micro-cents} from the database), stored (ids of holds
-- and queued records the database already has), max_queued.
-- KEYS as for the other scripts, then 8 the claimed records.
local args = cjson.decode(ARGV[1])
local queued = redis.call('LLEN', KEYS[7]) + redis.call('LLEN', KEYS[8])
if queued > args.max_queued then
  return cjson.encode({done = false, queued = queued})
end
local stored = {}
for _, id in ipairs(args.stored) do
  stored[id] = true
end
local totals = {}
for name, value in pairs(args.recorded) do
  totals[name] = value
end
local function add(name, amount)
  totals[name] = (totals[name] or 0) + amount
end

local holds = redis.call('HGETALL', KEYS[4])
for i = 1, #holds, 2 do
  local id = holds[i]
  if stored[id] then
    -- Settled while this store could not be reached: the database has it, drop the hold.
    redis.call('HDEL', KEYS[4], id)
    redis.call('ZREM', KEYS[6], id)
  else
    local hold = cjson.decode(holds[i + 1])
    if hold.month == args.month then
      for _, spend in ipairs(hold.spend) do
        add(spend[1], spend[2])
      end
    end
  end
end
for _, key in ipairs({KEYS[7], KEYS[8]}) do
  for _, text in ipairs(redis.call('LRANGE', key, 0, -1)) do
    local record = cjson.decode(text)
    if record.month == args.month and not stored[record.id] then
      add('org', record.micro)
      add('ws:' .. record.workspace, record.micro)
    end
  end
end

local existing = redis.call('HKEYS', KEYS[2])
for _, name in ipairs(existing) do
  if totals[name] == nil then
    totals[name] = 0
  end
end
for name, value in pairs(totals) do
  redis.call('HSET', KEYS[2], name, string.format('%d', value))
end
redis.call('EXPIRE', KEYS[2], SPEND_COUNTER_SECONDS)
return cjson.encode({done = true, spend = integers(totals)})
