-- DeleteCaller. KEYS[1]: the caller's hash. ARGV: prefix, id.
local id = ARGV[2]
local key = redis.call('HGET', KEYS[1], 'key')
if not key then
  return {'notfound'}
end
redis.call('HDEL', P .. 'ckeys', key)
redis.call('SREM', P .. 'callers', id)
redis.call('DEL', KEYS[1], cbucketskey(id), csessionskey(id), cstotalskey(id), cleaseskey(id))
return {'ok'}
