-- ReleaseCaller. KEYS[1]: the caller's hash. ARGV: prefix, id, lease ID.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'notfound'}
end
redis.call('ZREM', cleaseskey(ARGV[2]), ARGV[3])
return {'ok'}
