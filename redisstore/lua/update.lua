-- UpdateSubscription. KEYS[1]: the subscription's hash.
-- ARGV: prefix, name, kind, credential, maxClients, weekly, block and daily
-- budgets, the credential's expiry, the refresh token.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'notfound'}
end
redis.call('HSET', KEYS[1], 'name', ARGV[2], 'kind', ARGV[3], 'cred', ARGV[4], 'max', ARGV[5],
  'wb', ARGV[6], 'bb', ARGV[7], 'db', ARGV[8], 'cexp', ARGV[9], 'rtok', ARGV[10])
return {'ok'}
