-- Claim. KEYS[1]: the claim's key. ARGV: prefix, now, until, TTL in
-- milliseconds. Returns 1 if this call made the claim, else 0.
local untl = redis.call('GET', KEYS[1])
if untl and lt(ARGV[2], untl) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
return 1
