-- Assign. KEYS[1]: the client's session.
-- ARGV: prefix, client, target, from ('' for none), idleSince ('' for
-- none), now, hold. Returns 'ok' and the session's row, or why not.
local function done(sk, client)
  local out = {'ok'}
  push(out, client, fields(sk))
  return out
end

local client, to, from, idle, now, untl = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local sk = KEYS[1]
local cur = redis.call('HMGET', sk, 'sub', 'last', 'hold')
local on, last, held = cur[1], cur[2], cur[3]
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
  local max = tonumber(redis.call('HGET', tk, 'max'))
  local _, ok, n = extend(sk, to, client, held, untl, now, max)
  if not ok then
    return {'full', n, max}
  end
  if lt(last, now) then
    redis.call('HSET', sk, 'last', now)
    reindex(client, to, last, to, now)
  end
  later(tk, 'last', now)
  return done(sk, client)
end
local st = redis.call('HMGET', tk, 'st', 'until', 'max')
if not (st[1] == '0' or (st[1] == '1' and not lt(now, st[2]))) then
  return {'inactive', st[1]}
end
local max = tonumber(st[3])
if max > 0 then
  local n = holding(to, now)
  if n >= max then
    return {'full', n, max}
  end
end
if on then
  redis.call('SREM', memberskey(on), client)
  unhold(on, client, held)
  prune(on, now)
else
  last = '00000000000000000000'
  redis.call('HSET', sk, 'created', now, 'last', last, 'req', 0, 'cost', 0,
    'in', 0, 'out', 0, 'cw', 0, 'cr', 0, 'model', '')
end
redis.call('SADD', memberskey(to), client)
redis.call('HSET', sk, 'sub', to, 'assigned', now, 'hold', untl)
prune(to, now)
if lt(now, untl) then
  hold(to, client, untl)
end
local moved = last
if idle == '' then
  if lt(last, now) then
    moved = now
    redis.call('HSET', sk, 'last', now)
  end
  later(tk, 'last', now)
end
reindex(client, on, last, to, moved)
return done(sk, client)
