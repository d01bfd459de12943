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
local function holdskey(id) return P .. 'h:' .. id end
local function activekey(id) return P .. 'a:' .. id end

-- The activity index. '{p}:a' holds every session and '{p}:a:<id>' those of
-- subscription id, as sorted sets whose scores are all 0 and whose members
-- are a session's LastActive (20 digits) followed by its client ID: their
-- byte-wise order is by LastActive, then client ID, exactly, so Sessions
-- walks them from the oldest with ZRANGEBYLEX. Every script that moves a
-- session's LastActive or subscription moves its entries in the same step.

-- reindex moves a client's entries from its subscription oldsub and
-- LastActive oldlast (oldsub false: none) to newsub and newlast (newsub
-- false: none, for a session that ends). Removing an entry that is not
-- there is harmless: a session written before the index existed gets its
-- entries at its first write.
local function reindex(client, oldsub, oldlast, newsub, newlast)
  if oldsub and oldlast then
    redis.call('ZREM', P .. 'a', oldlast .. client)
    redis.call('ZREM', activekey(oldsub), oldlast .. client)
  end
  if newsub then
    redis.call('ZADD', P .. 'a', 0, newlast .. client)
    redis.call('ZADD', activekey(newsub), 0, newlast .. client)
  end
end

-- SESSION lists a session hash's fields in the order of a session's row:
-- its client ID, then these (decodeSession reads them in this order).
local SESSION = {'sub', 'created', 'assigned', 'last', 'req', 'cost', 'in', 'out', 'cw', 'cr', 'model', 'hold'}

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

-- subscription returns a subscription's ID, hash, client count, buckets and
-- holds (decodeSubscription reads them).
local function subscription(id)
  return {id, redis.call('HGETALL', subkey(id)), redis.call('SCARD', memberskey(id)), redis.call('HGETALL', bucketskey(id)),
    redis.call('ZRANGE', holdskey(id), 0, -1)}
end

-- Holds. A subscription's holds are a sorted set: each member is a
-- session's hold (20 digits) followed by its client ID, scored by the
-- hold's first 14 digits (its millisecond, exact in a double). A session
-- holds a slot while its hold is listed and ends after now; the session
-- hash keeps its hold in 'hold' (the zero time for none).

-- score returns a time's score: its millisecond.
local function score(t)
  return tonumber(string.sub(t, 1, 14))
end

-- holding counts the holds on a subscription that end after now: those of
-- a later millisecond, and those of now's that end after it.
local function holding(id, now)
  local key, s = holdskey(id), score(now)
  local n = redis.call('ZCOUNT', key, '(' .. s, '+inf')
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', key, s, s)) do
    if lt(now, string.sub(m, 1, 20)) then
      n = n + 1
    end
  end
  return n
end

-- prune drops a subscription's holds that ended by now: those of an earlier
-- millisecond, and those of now's that are not after it.
local function prune(id, now)
  local key, s = holdskey(id), score(now)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. s)
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', key, s, s)) do
    if not lt(now, string.sub(m, 1, 20)) then
      redis.call('ZREM', key, m)
    end
  end
end

-- unhold drops a client's hold from a subscription's set.
local function unhold(id, client, hold)
  if hold then
    redis.call('ZREM', holdskey(id), hold .. client)
  end
end

-- hold lists a client's hold on a subscription.
local function hold(id, client, untl)
  redis.call('ZADD', holdskey(id), score(untl), untl .. client)
end

-- live reports whether a client's hold (false for none) is listed and ends
-- after now.
local function live(id, client, held, now)
  return held and lt(now, held) and redis.call('ZSCORE', holdskey(id), held .. client) ~= false
end

-- extend moves the hold of a client's session (its key sk, its
-- subscription id, its hold held or false) to the later of held and untl,
-- never back. A hold that has ended is renewed (to an untl after now) only
-- while fewer than max (0: no max) clients hold a slot at now. It returns
-- the hold after the call, and false with the number holding a slot when
-- the subscription is full.
local function extend(sk, id, client, held, untl, now, max)
  local next = untl
  if held and not lt(held, untl) then
    next = held
  end
  if live(id, client, held, now) then
    if next == held then
      return held, true
    end
  elseif not lt(now, next) then
    if next ~= held then
      redis.call('HSET', sk, 'hold', next) -- nothing to hold: the hold stays ended
    end
    return next, true
  elseif max > 0 then
    local n = holding(id, now)
    if n >= max then
      return held, false, n
    end
  end
  prune(id, now)
  unhold(id, client, held)
  hold(id, client, next)
  redis.call('HSET', sk, 'hold', next)
  return next, true
end

-- remember counts a usage ID (member, at time t in microseconds) in the
-- sorted set ids, scored by time, with the horizon under hk: the latest time
-- of an ID forgotten, at least cut (now - Remember). A few of the oldest IDs
-- are forgotten per call, those past cut and those over limit; both keys
-- live ttl milliseconds. It returns the horizon, and remembers nothing, when
-- t is at or before it (the ID may have been counted and forgotten); nil
-- once member is remembered. The caller has checked member is not in ids.
local function remember(ids, hk, member, t, cut, limit, ttl)
  local horizon = redis.call('GET', hk) or '0'
  if tonumber(cut) > tonumber(horizon) then
    horizon = cut
  end
  if tonumber(t) <= tonumber(horizon) then
    return horizon
  end
  local n, most = redis.call('ZCARD', ids), tonumber(limit)
  local old, gone = redis.call('ZRANGE', ids, 0, 3, 'WITHSCORES'), {}
  for i = 1, #old, 2 do
    if n - #gone < most and tonumber(old[i + 1]) > tonumber(cut) then
      break
    end
    gone[#gone + 1] = old[i]
    if tonumber(old[i + 1]) > tonumber(horizon) then
      horizon = old[i + 1]
    end
  end
  if #gone > 0 then
    redis.call('ZREM', ids, unpack(gone))
  end
  redis.call('ZADD', ids, t, member)
  redis.call('SET', hk, horizon, 'PX', ttl)
  redis.call('PEXPIRE', ids, ttl)
  return nil
end

-- A week of hourly totals, as AddUsage keeps a subscription's and
-- ChargeCaller a caller's: a ring of WEEK slots in one hash, slot s holding
-- the hour 'h<s>', its cost 'c<s>', requests 'r<s>', and input, output,
-- cache-write and cache-read tokens 'i<s>', 'o<s>', 'w<s>', 'x<s>'; 'n' is
-- the newest hour.
local WEEK = 168

-- addhour adds a usage of hour (hourarg: the same, as the script got it)
-- costing cost, with tokens {input, output, cache-write, cache-read}, to
-- the ring in the hash bk, of which ring is what HMGET read of 'n',
-- 'h<slot>' and 'r<slot>' (more may follow). A usage more than a week
-- older than the hour its slot holds, or than the newest, is left out. It
-- returns whether the usage went in, the newest hour after it (nil for an
-- empty ring) and whether that moved.
local function addhour(bk, ring, hour, hourarg, cost, tokens)
  local slot = hour % WEEK
  local newest, bh, br = tonumber(ring[1]), tonumber(ring[2]), tonumber(ring[3]) or 0
  if br > 0 and bh ~= hour then
    if bh > hour then
      return false, newest, false -- more than a week older than a bucket kept
    end
    br = 0
  end
  if br == 0 and newest and hour <= newest - WEEK then
    return false, newest, false -- more than a week older than the newest bucket
  end
  local fresh = not newest or hour > newest
  if br == 0 then
    local set = {'h' .. slot, hourarg, 'c' .. slot, cost, 'r' .. slot, 1, 'i' .. slot, tokens[1], 'o' .. slot,
      tokens[2], 'w' .. slot, tokens[3], 'x' .. slot, tokens[4]}
    if fresh then
      set[#set + 1], set[#set + 2] = 'n', hourarg
    end
    redis.call('HSET', bk, unpack(set))
  else
    redis.call('HINCRBY', bk, 'c' .. slot, cost)
    redis.call('HINCRBY', bk, 'r' .. slot, 1)
    for i, kind in ipairs({'i', 'o', 'w', 'x'}) do
      if tokens[i] ~= '0' then
        redis.call('HINCRBY', bk, kind .. slot, tokens[i])
      end
    end
  end
  if fresh then
    newest = hour
  end
  return true, newest, fresh
end

-- weekttl returns how many seconds after nowsec (Unix seconds) the keys of
-- a ring whose newest hour is newest live: until a day after the week that
-- hour serves, and at least a day.
local function weekttl(newest, nowsec)
  local ttl = (newest + 1 + WEEK) * 3600 + 86400 - nowsec
  if ttl < 86400 then
    ttl = 86400
  end
  return ttl
end
