-- Subscription. KEYS[1]: the subscription's hash. ARGV: prefix, id.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'notfound'}
end
return {'ok', subscription(ARGV[2])}
