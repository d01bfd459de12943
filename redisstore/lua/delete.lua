-- DeleteSubscription. KEYS[1]: the subscription's hash. ARGV: prefix, id.
-- Returns 'ok' and the rows of the sessions it released, one after another.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'notfound'}
end
local id = ARGV[2]
local out = {'ok'}
for _, client in ipairs(redis.call('SMEMBERS', memberskey(id))) do
  local key = sessionkey(client)
  push(out, client, fields(key))
  redis.call('DEL', key)
end
redis.call('DEL', KEYS[1], memberskey(id), bucketskey(id), holdskey(id))
redis.call('SREM', P .. 'subs', id)
return out
