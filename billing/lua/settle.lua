-- Settle one reservation: replace its hold by the real usage, once.
-- Arguments: now, month, previous_month, id, output_tokens, input_tokens (those that count
-- toward the input limit), cost (micro-cents), cost_text, keep_until, record (JSON text to
-- queue, or ''), late (whether to count a reservation this store no longer holds), and for
-- that: record_month, spend_names; cancel (remember it as settled even when nothing is held:
-- the cancelled check, should it arrive later, then changes nothing).
-- Answers status 'settled' (now), 'already' or 'absent'. A settled reservation is remembered
-- with what its settle answered (its cost, what its hold reserved, the counters after it), and
-- 'already' gives that back as `outcome`, the JSON text it was stored as.
local args = cjson.decode(ARGV[1])
local id = args.id
release_expired(args.now, args.month, args.previous_month)
local settled = redis.call('HGET', KEYS[5], id)
if settled then
  return cjson.encode({status = 'already', outcome = settled})
end

local raw = redis.call('HGET', KEYS[4], id)
local totals = {}
local reserved = nil
if raw then
  local hold = cjson.decode(raw)
  reserved = 0
  for _, bucket in ipairs(hold.output_buckets) do
    bucket_give_back(bucket[1], bucket[2], hold.output_reserved - args.output_tokens, args.now)
  end
  for _, bucket in ipairs(hold.input_buckets) do
    bucket_give_back(bucket[1], bucket[2], hold.input_reserved - args.input_tokens, args.now)
  end
  local key = spend_key(hold.month, args.month, args.previous_month)
  for _, spend in ipairs(hold.spend) do
    reserved = math.max(reserved, spend[2])
    totals[spend[1]] = spend_add(key, spend[1], args.cost - spend[2])
  end
  redis.call('HDEL', KEYS[4], id)
elseif args.late then
  -- Expired (its hold given back already) or lost with the store's data: count it now.
  local key = spend_key(args.record_month, args.month, args.previous_month)
  for _, name in ipairs(args.spend_names) do
    totals[name] = spend_add(key, name, args.cost)
  end
elseif not args.cancel then
  return cjson.encode({status = 'absent'})
end

local answer = {cost = args.cost_text, spend = integers(totals), reserved = reserved}
local outcome = cjson.encode(answer)
redis.call('HSET', KEYS[5], id, outcome)
redis.call('ZADD', KEYS[6], args.keep_until, id)
if args.record ~= '' then
  redis.call('RPUSH', KEYS[7], args.record)
end
answer.status = 'settled'
return cjson.encode(answer)
