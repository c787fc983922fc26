-- Forget a claim once its records are stored, if it is still the claim of that token, and
-- what was remembered of those settles (the database answers for them now).
-- KEYS: 1 the claimed records, 2 the claim's token, 3 settled reservations, 4 expiry.
local args = cjson.decode(ARGV[1])
if (redis.call('GET', KEYS[2]) or '') ~= args.token then
  return 0
end
redis.call('DEL', KEYS[1], KEYS[2])
for _, id in ipairs(args.ids) do
  redis.call('HDEL', KEYS[3], id)
  redis.call('ZREM', KEYS[4], id)
end
return 1
