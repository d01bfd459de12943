-- Touch. KEYS[1]: the client's session. ARGV: prefix, now.
-- Returns 'ok', the subscription's ID, state, until and reason.
local now = ARGV[2]
local s = redis.call('HMGET', KEYS[1], 'sub', 'last')
if not s[1] then
  return {'notfound'}
end
if lt(s[2], now) then
  redis.call('HSET', KEYS[1], 'last', now)
end
local key = subkey(s[1])
local st = redis.call('HMGET', key, 'st', 'until', 'reason', 'last')
if not st[4] or lt(st[4], now) then
  redis.call('HSET', key, 'last', now)
end
return {'ok', s[1], st[1], st[2], st[3]}
