-- Touch. KEYS[1]: the client's session. ARGV: prefix, client, now, the hold
-- to extend to. Returns 'ok' (or 'full', changing nothing), the
-- subscription's ID, state, until and reason, and the session's hold before
-- and after; 'full' adds how many hold a slot and the maximum.
local client, now, untl = ARGV[2], ARGV[3], ARGV[4]
local s = redis.call('HMGET', KEYS[1], 'sub', 'last', 'hold')
if not s[1] then
  return {'notfound'}
end
local key = subkey(s[1])
local st = redis.call('HMGET', key, 'st', 'until', 'reason', 'last', 'max')
local held = s[3] or false
local after, ok, n = extend(KEYS[1], s[1], client, held, untl, now, tonumber(st[5]))
if not ok then
  return {'full', s[1], st[1], st[2], st[3], held or '', after or '', n, st[5]}
end
if lt(s[2], now) then
  redis.call('HSET', KEYS[1], 'last', now)
  reindex(client, s[1], s[2], s[1], now)
end
if not st[4] or lt(st[4], now) then
  redis.call('HSET', key, 'last', now)
end
return {'ok', s[1], st[1], st[2], st[3], held or '', after or ''}
