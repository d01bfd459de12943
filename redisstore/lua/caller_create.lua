-- CreateCaller. KEYS[1]: the caller's hash. ARGV: prefix, id, key hash
-- (hex), cap, window hours, rate per second, burst, sessionless, created.
local id, key = ARGV[2], ARGV[3]
if redis.call('SISMEMBER', P .. 'callers', id) == 1 then
  return {'exists', 'id'}
end
if redis.call('HSETNX', P .. 'ckeys', key, id) == 0 then
  return {'exists', 'key'}
end
redis.call('SADD', P .. 'callers', id)
redis.call('DEL', KEYS[1], cbucketskey(id), csessionskey(id), cstotalskey(id), cleaseskey(id))
redis.call('HSET', KEYS[1], 'key', key, 'cap', ARGV[4], 'win', ARGV[5], 'rps', ARGV[6], 'burst', ARGV[7],
  'sl', ARGV[8], 'created', ARGV[9], 'max', 0)
return {'ok'}
