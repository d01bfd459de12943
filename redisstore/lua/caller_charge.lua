-- ChargeCaller. KEYS[1]: the caller's hash.
-- ARGV: prefix, id, usage ID ('' for none), its member in P .. 'cids' (16
-- bytes of its SHA-256), the charge's time in Unix microseconds, now -
-- Remember in Unix microseconds, how many IDs to remember at most, the
-- TTL of the IDs' keys in milliseconds, hour, cost, input, output,
-- cache-write and cache-read tokens, session, the charge's time (20
-- digits), now in Unix seconds.
-- Returns 'ok', 'duplicate', 'forgotten' with the horizon, or 'notfound'.
local id, uid = ARGV[2], ARGV[3]
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'notfound'}
end
if uid ~= '' then
  -- The callers' usage IDs: a sorted set scored by the charge's time (µs)
  -- and its horizon, kept as AddUsage keeps the subscriptions' (usage.lua).
  local ids, hk, member, t, cut = P .. 'cids', P .. 'cidh', ARGV[4], ARGV[5], ARGV[6]
  if redis.call('ZSCORE', ids, member) then
    return {'duplicate'}
  end
  local forgotten = remember(ids, hk, member, t, cut, ARGV[7], ARGV[8])
  if forgotten then
    return {'forgotten', forgotten}
  end
end

-- The hour's totals, kept as a subscription's (lib.lua's addhour).
local hour, cost = tonumber(ARGV[9]), ARGV[10]
local bk = cbucketskey(id)
local slot = hour % WEEK
local _, newest = addhour(bk, redis.call('HMGET', bk, 'n', 'h' .. slot, 'r' .. slot), hour, ARGV[9], cost,
  {ARGV[11], ARGV[12], ARGV[13], ARGV[14]})
if tonumber(cost) > (tonumber(redis.call('HGET', KEYS[1], 'max')) or 0) then
  redis.call('HSET', KEYS[1], 'max', cost)
end

-- The session's totals. A new session beyond MAXSESSIONS makes the least
-- recently charged go; a few sessions last charged before the week of the
-- newest hour go at each charge, and the one charged, if it is such, first.
local MAXSESSIONS = 1000
local sk, tk, name, at, atus = csessionskey(id), cstotalskey(id), ARGV[15], ARGV[16], ARGV[5]
local last = redis.call('ZSCORE', sk, name)
-- Sessions last charged before cutoff (µs) are past the week kept.
local cutoff = newest and (newest - WEEK + 1) * 3600000000
if last and cutoff and tonumber(last) < cutoff then
  dropsessions(id, {name})
  last = false
end
if not last then
  if redis.call('ZCARD', sk) >= MAXSESSIONS then
    dropsessions(id, redis.call('ZRANGE', sk, 0, 0))
  end
  redis.call('HSET', tk, 'f:' .. name, at, 'l:' .. name, at)
  redis.call('ZADD', sk, atus, name)
else
  local f, l = 'f:' .. name, 'l:' .. name
  local t = redis.call('HMGET', tk, f, l)
  if not t[1] or lt(at, t[1]) then
    redis.call('HSET', tk, f, at)
  end
  if not t[2] or lt(t[2], at) then
    redis.call('HSET', tk, l, at)
    redis.call('ZADD', sk, atus, name)
  end
end
redis.call('HINCRBY', tk, 'r:' .. name, 1)
redis.call('HINCRBY', tk, 'c:' .. name, cost)
for i, kind in ipairs({'i', 'o', 'w', 'x'}) do
  redis.call('HINCRBY', tk, kind .. ':' .. name, ARGV[10 + i])
end
if newest then
  dropsessions(id, redis.call('ZRANGEBYSCORE', sk, '-inf', '(' .. string.format('%.0f', cutoff), 'LIMIT', 0, 4))
  -- Everything of the charges expires a day after the week its newest hour
  -- serves, as a subscription's buckets do.
  local ttl = weekttl(newest, tonumber(ARGV[17]))
  redis.call('EXPIRE', bk, ttl)
  redis.call('EXPIRE', sk, ttl)
  redis.call('EXPIRE', tk, ttl)
end
return {'ok'}
