-- CreateSubscription. KEYS[1]: the subscription's hash.
-- ARGV: prefix, id, name, kind, credential, maxClients, weekly, block and
-- daily budgets, state, until, reason.
local id = ARGV[2]
if redis.call('SADD', P .. 'subs', id) == 0 then
  return {'exists'}
end
redis.call('DEL', KEYS[1], memberskey(id), bucketskey(id))
redis.call('HSET', KEYS[1], 'name', ARGV[3], 'kind', ARGV[4], 'cred', ARGV[5], 'max', ARGV[6],
  'wb', ARGV[7], 'bb', ARGV[8], 'db', ARGV[9], 'st', ARGV[10], 'until', ARGV[11], 'reason', ARGV[12])
return {'ok'}
