-- Assign. KEYS[1]: the client's session.
-- ARGV: prefix, client, target, from ('' for none), idleSince ('' for
-- none), now. Returns 'ok' and the session's row, or why not.
local function done(sk, client)
  local out = {'ok'}
  push(out, client, fields(sk))
  return out
end

local client, to, from, idle, now = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local sk = KEYS[1]
local cur = redis.call('HMGET', sk, 'sub', 'last')
local on, last = cur[1], cur[2]
if not on then
  if from ~= '' then
    return {'conflict', ''}
  end
elseif on ~= from or (idle ~= '' and lt(idle, last)) then
  return {'conflict', on, last}
end
local tk = subkey(to)
if redis.call('EXISTS', tk) == 0 then
  return {'notfound'}
end
if on == to then
  later(sk, 'last', now)
  later(tk, 'last', now)
  return done(sk, client)
end
local st = redis.call('HMGET', tk, 'st', 'until', 'max')
if not (st[1] == '0' or (st[1] == '1' and not lt(now, st[2]))) then
  return {'inactive', st[1]}
end
local max, n = tonumber(st[3]), redis.call('SCARD', memberskey(to))
if max > 0 and n >= max then
  return {'full', n, max}
end
if on then
  redis.call('SREM', memberskey(on), client)
else
  redis.call('HSET', sk, 'created', now, 'last', '00000000000000000000', 'req', 0, 'cost', 0,
    'in', 0, 'out', 0, 'cw', 0, 'cr', 0, 'model', '')
end
redis.call('SADD', memberskey(to), client)
redis.call('HSET', sk, 'sub', to, 'assigned', now)
if idle == '' then
  later(sk, 'last', now)
  later(tk, 'last', now)
end
return done(sk, client)
