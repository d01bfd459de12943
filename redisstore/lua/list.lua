-- Subscriptions. KEYS[1]: the set of subscription IDs. ARGV: prefix.
local out = {'ok'}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  out[#out + 1] = subscription(id)
end
return out
