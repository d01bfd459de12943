-- lib.lua is prepended to every script (see scripts.go).
--
-- ARGV[1] is the key prefix, "{prefix}:"; the other keys a script touches are
-- built from it. Every key name starts with the same hash tag, so every key
-- lies in the one slot of KEYS[1], as Redis Cluster requires of a script.
--
-- Times are 20-digit strings (see codec.go): the Unix nanoseconds, offset to
-- be positive. lt compares them as two 10-digit numbers, exactly (a Lua
-- number is a double) and whatever the server's collation locale.
local P = ARGV[1]

local function lt(a, b)
  local x, y = tonumber(string.sub(a, 1, 10)), tonumber(string.sub(b, 1, 10))
  if x ~= y then
    return x < y
  end
  return tonumber(string.sub(a, 11)) < tonumber(string.sub(b, 11))
end

-- halves returns a time's two 10-digit numbers, for comparing it often.
local function halves(t)
  return tonumber(string.sub(t, 1, 10)), tonumber(string.sub(t, 11))
end

-- later moves the time in a hash field forward to t, never back.
local function later(key, field, t)
  local cur = redis.call('HGET', key, field)
  if not cur or lt(cur, t) then
    redis.call('HSET', key, field, t)
  end
end

local function subkey(id) return P .. 'sub:' .. id end
local function memberskey(id) return P .. 'm:' .. id end
local function bucketskey(id) return P .. 'b:' .. id end
local function sessionkey(client) return P .. 's:' .. client end

-- SESSION lists a session hash's fields in the order of a session's row:
-- its client ID, then these (decodeSession reads them in this order).
local SESSION = {'sub', 'created', 'assigned', 'last', 'req', 'cost', 'in', 'out', 'cw', 'cr', 'model'}

-- fields returns a session's fields in SESSION's order; the first is false
-- when there is no such session.
local function fields(key)
  return redis.call('HMGET', key, unpack(SESSION))
end

-- push appends a session's row (its client ID, then its fields) to out:
-- lists of sessions are flat, which Redis returns faster than nested ones.
local function push(out, client, f)
  out[#out + 1] = client
  for i = 1, #SESSION do
    out[#out + 1] = f[i]
  end
end

-- subscription returns a subscription's ID, hash, client count and buckets
-- (decodeSubscription reads them).
local function subscription(id)
  return {id, redis.call('HGETALL', subkey(id)), redis.call('SCARD', memberskey(id)), redis.call('HGETALL', bucketskey(id))}
end
