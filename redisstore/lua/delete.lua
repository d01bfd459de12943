-- DeleteSubscription. KEYS[1]: the subscription's hash. ARGV: prefix, id.
-- Returns 'ok' and the rows of the sessions it released, one after another.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'notfound'}
end
local id = ARGV[2]
local out = {'ok'}
for _, client in ipairs(redis.call('SMEMBERS', memberskey(id))) do
  local key = sessionkey(client)
  local f = fields(key)
  push(out, client, f)
  redis.call('DEL', key)
  if f[4] then
    redis.call('ZREM', P .. 'a', f[4] .. client)
  end
end
redis.call('DEL', KEYS[1], memberskey(id), bucketskey(id), holdskey(id), activekey(id))
redis.call('SREM', P .. 'subs', id)
return out
