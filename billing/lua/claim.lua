-- Hand out up to `limit` queued records under a new claim `token`. A claim left by a worker
-- that stopped before acknowledging it is handed out again first.
-- KEYS: 1 the queue, 2 the claimed records, 3 the claim's token.
local args = cjson.decode(ARGV[1])
if redis.call('EXISTS', KEYS[2]) == 1 then
  return {redis.call('GET', KEYS[3]) or '', redis.call('LRANGE', KEYS[2], 0, -1)}
end
local items = redis.call('LRANGE', KEYS[1], 0, args.limit - 1)
if #items == 0 then
  return {'', {}}
end
redis.call('LTRIM', KEYS[1], #items, -1)
redis.call('RPUSH', KEYS[2], unpack(items))
redis.call('SET', KEYS[3], args.token)
return {args.token, items}
