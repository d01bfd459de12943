-- AddUsage. KEYS[1]: the client's session, or without a client the billed
-- subscription's hash.
-- ARGV: prefix, client ('' for none), subscription named ('' for none),
-- usage ID ('' for none), its member in P .. 'ids' (16 bytes of its SHA-256),
-- the usage's time in Unix microseconds, hour, cost, now, now in Unix seconds, block hours, input,
-- output, cache-write and cache-read tokens, model, the hold to extend to,
-- minute (Unix minutes), now - Remember in Unix microseconds, how many IDs
-- to remember at most, the TTL of the IDs' keys in milliseconds.
-- Returns 'ok', the subscription billed, and the client's subscription with
-- its hold before and after; or why not ('forgotten' with the horizon).
local client, named, id = ARGV[2], ARGV[3], ARGV[4]
local hour, cost, now, nowsec = tonumber(ARGV[7]), ARGV[8], ARGV[9], tonumber(ARGV[10])
local billed, last, on, held
if client ~= '' then
  local s = redis.call('HMGET', KEYS[1], 'sub', 'last', 'hold')
  billed, last, on, held = s[1], s[2], s[1], s[3]
  if not billed then
    return {'notfound', 'client'}
  end
end
if named ~= '' and named ~= billed then
  if redis.call('EXISTS', subkey(named)) == 0 then
    return {'notfound', 'subscription'}
  end
  billed = named
end
if not billed then
  return {'notfound', 'none'}
end
if id ~= '' then
  -- Usage IDs: a sorted set scored by usage time (microseconds) and the
  -- horizon (see store.Store.AddUsage); a few of the oldest are forgotten
  -- per call. A key of the one-key-per-ID layout is a duplicate too.
  local ids, hk, member, t, cut = P .. 'ids', P .. 'idh', ARGV[5], ARGV[6], ARGV[19]
  if redis.call('ZSCORE', ids, member) or redis.call('EXISTS', P .. 'id:' .. id) == 1 then
    return {'duplicate'}
  end
  local forgotten = remember(ids, hk, member, t, cut, ARGV[20], ARGV[21])
  if forgotten then
    return {'forgotten', forgotten}
  end
end

-- The hours' totals (lib.lua's addhour). Beside them in the same hash, a
-- ring of MINUTES slots: slot s holds the minute 'M<s>' and its cost 'C<s>'
-- (a usage that costs nothing is left out). The hash expires a day after
-- the week its newest hour serves.
local MINUTES = 60
local bk = bucketskey(billed)
local slot = hour % WEEK
local minute = tonumber(ARGV[18])
local mslot = minute % MINUTES
local mf, mc = 'M' .. mslot, 'C' .. mslot
local ring = redis.call('HMGET', bk, 'n', 'h' .. slot, 'r' .. slot, mf)
local kept, newest, fresh = addhour(bk, ring, hour, ARGV[7], cost, {ARGV[12], ARGV[13], ARGV[14], ARGV[15]})
if kept then
  if cost ~= '0' then
    local bm = tonumber(ring[4])
    if bm == minute then
      redis.call('HINCRBY', bk, mc, cost)
    elseif not bm or bm < minute then
      redis.call('HSET', bk, mf, ARGV[18], mc, cost)
    end -- else the slot holds a later minute: this one is an hour older than it
  end
  if fresh then
    -- Until the newest hour moves again, the expiry stays where it is.
    redis.call('EXPIRE', bk, weekttl(newest, nowsec))
  end
end

local sk = subkey(billed)
local blockHours = tonumber(ARGV[11])
local sub = redis.call('HMGET', sk, 'block', 'last', 'max')
local set = {}
if blockHours > 0 then
  local block = tonumber(sub[1])
  if not block or hour >= block + blockHours then
    set[#set + 1], set[#set + 2] = 'block', ARGV[7]
  end
end
if client ~= '' and (not sub[2] or lt(sub[2], now)) then
  set[#set + 1], set[#set + 2] = 'last', now
end
if #set > 0 then
  redis.call('HSET', sk, unpack(set))
end
if client == '' then
  return {'ok', billed} -- spending outside the pool: no session, no activity
end
redis.call('HINCRBY', KEYS[1], 'req', 1)
redis.call('HINCRBY', KEYS[1], 'cost', cost)
redis.call('HINCRBY', KEYS[1], 'in', ARGV[12])
redis.call('HINCRBY', KEYS[1], 'out', ARGV[13])
redis.call('HINCRBY', KEYS[1], 'cw', ARGV[14])
redis.call('HINCRBY', KEYS[1], 'cr', ARGV[15])
if lt(last, now) then
  redis.call('HSET', KEYS[1], 'model', ARGV[16], 'last', now)
  reindex(client, on, last, on, now)
else
  redis.call('HSET', KEYS[1], 'model', ARGV[16])
end
-- A full subscription keeps an ended hold ended; the usage counts anyway.
local max = sub[3]
if on ~= billed then
  max = redis.call('HGET', subkey(on), 'max')
end
local after = extend(KEYS[1], on, client, held, ARGV[17], now, tonumber(max))
return {'ok', billed, on, held or '', after or ''}
