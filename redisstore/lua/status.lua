-- SetStatus. KEYS[1]: the subscription's hash. ARGV: prefix, state, until, reason.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'notfound'}
end
redis.call('HSET', KEYS[1], 'st', ARGV[2], 'until', ARGV[3], 'reason', ARGV[4])
return {'ok'}
