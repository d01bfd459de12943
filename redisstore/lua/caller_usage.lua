-- CallerUsage and CallerSessions. KEYS[1]: the caller's hash. ARGV:
-- prefix, id, what ('hours' or 'sessions'), from hour, to hour.
-- Returns 'ok' and the hours, each as 7 numbers (see chours); or 'ok' and
-- the sessions last charged at or after the from hour within the week
-- kept, each as its name and totals (CSFIELDS).
local id, what, from, to = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'notfound'}
end
local out = {'ok'}
if what == 'hours' then
  local hours = chours(id, from, to)
  for _, h in ipairs(hours) do
    for _, v in ipairs(h) do
      out[#out + 1] = v
    end
  end
  return out
end
local newest = tonumber(redis.call('HGET', cbucketskey(id), 'n'))
if not newest then
  return out
end
if from < newest - WEEK + 1 then
  from = newest - WEEK + 1
end
local tk = cstotalskey(id)
for _, name in ipairs(redis.call('ZRANGEBYSCORE', csessionskey(id), string.format('%.0f', from * 3600000000), '+inf')) do
  out[#out + 1] = name
  for _, f in ipairs(CSFIELDS) do
    out[#out + 1] = redis.call('HGET', tk, f .. ':' .. name)
  end
end
return out
