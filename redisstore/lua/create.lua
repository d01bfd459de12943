-- CreateSubscription. KEYS[1]: the subscription's hash.
-- ARGV: prefix, id, name, kind, credential, maxClients, weekly, block and
-- daily budgets, the credential's expiry, the refresh token, state, until,
-- reason.
local id = ARGV[2]
if redis.call('SADD', P .. 'subs', id) == 0 then
  return {'exists'}
end
if redis.call('SCARD', P .. 'subs') == 1 then
  redis.call('SET', P .. 'indexed', '1') -- the first subscription: no session to index
end
redis.call('DEL', KEYS[1], memberskey(id), bucketskey(id), holdskey(id), activekey(id))
redis.call('HSET', KEYS[1], 'name', ARGV[3], 'kind', ARGV[4], 'cred', ARGV[5], 'max', ARGV[6],
  'wb', ARGV[7], 'bb', ARGV[8], 'db', ARGV[9], 'cexp', ARGV[10], 'rtok', ARGV[11], 'st', ARGV[12], 'until', ARGV[13],
  'reason', ARGV[14])
return {'ok'}
