-- callerlib.lua follows lib.lua in the callers' scripts (see scripts.go).
--
-- A caller's keys, besides its hash '{p}:caller:<id>' and the index
-- '{p}:ckeys' (key hash, in hex -> caller ID): its hourly totals, its
-- sessions by last charge, its sessions' totals and its leases.
local function callerkey(id) return P .. 'caller:' .. id end
local function cbucketskey(id) return P .. 'cb:' .. id end
local function csessionskey(id) return P .. 'cs:' .. id end
local function cstotalskey(id) return P .. 'csd:' .. id end
local function cleaseskey(id) return P .. 'cl:' .. id end

-- The hourly totals are a ring of WEEK slots in one hash, as a
-- subscription's (lib.lua's addhour).

-- chours returns the non-empty hours of a caller's ring from 'from' to
-- 'to' (clipped to the week up to its newest), oldest first, each as
-- {hour, cost, requests, input, output, cache-write, cache-read}; and the
-- newest hour (false if none).
local function chours(id, from, to)
  local bk = cbucketskey(id)
  local newest = tonumber(redis.call('HGET', bk, 'n'))
  local out = {}
  if not newest then
    return out, false
  end
  if from < newest - WEEK + 1 then
    from = newest - WEEK + 1
  end
  if to > newest then
    to = newest
  end
  for h = from, to do
    local s = h % WEEK
    local b = redis.call('HMGET', bk, 'h' .. s, 'r' .. s, 'c' .. s, 'i' .. s, 'o' .. s, 'w' .. s, 'x' .. s)
    if tonumber(b[1]) == h and (tonumber(b[2]) or 0) > 0 then
      out[#out + 1] = {h, tonumber(b[3]) or 0, tonumber(b[2]), tonumber(b[4]) or 0, tonumber(b[5]) or 0,
        tonumber(b[6]) or 0, tonumber(b[7]) or 0}
    end
  end
  return out, newest
end

-- The fields of a session's totals in '{p}:csd:<id>': each is a letter, a
-- colon and the session's name: requests, cost, the four kinds of tokens,
-- first and last charge times (20 digits).
local CSFIELDS = {'r', 'c', 'i', 'o', 'w', 'x', 'f', 'l'}

-- dropsessions removes sessions and their totals.
local function dropsessions(id, names)
  if #names == 0 then
    return
  end
  local fields = {}
  for _, name in ipairs(names) do
    for _, f in ipairs(CSFIELDS) do
      fields[#fields + 1] = f .. ':' .. name
    end
  end
  redis.call('HDEL', cstotalskey(id), unpack(fields))
  redis.call('ZREM', csessionskey(id), unpack(names))
end
