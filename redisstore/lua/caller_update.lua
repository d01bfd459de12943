-- UpdateCaller. KEYS[1]: the caller's hash. ARGV: prefix, id, then the
-- fields to set and their values, in pairs ('cap', 'win', 'rps', 'burst',
-- 'sl': see caller_create.lua).
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'notfound'}
end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
return {'ok'}
