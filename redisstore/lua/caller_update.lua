-- UpdateCaller. KEYS[1]: the caller's hash. ARGV: prefix, id, cap, window
-- hours, rate per second, burst, sessionless.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'notfound'}
end
redis.call('HSET', KEYS[1], 'cap', ARGV[3], 'win', ARGV[4], 'rps', ARGV[5], 'burst', ARGV[6], 'sl', ARGV[7])
return {'ok'}
