-- AdmitCaller. KEYS[1]: the caller's hash. ARGV: prefix, id, now's hour,
-- budget, window hours, now in Unix microseconds, lease ID, the lease's end
-- in Unix microseconds, the TTL of the leases' key in milliseconds.
-- Returns 'ok', 1 if admitted (else 0), used, leases in flight before,
-- the estimate, then the window's non-empty hours as hour, cost pairs.
local id, hour, budget, window = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local estimate = redis.call('HGET', KEYS[1], 'max')
if not estimate then
  return {'notfound'}
end
estimate = tonumber(estimate)
local hours = chours(id, hour - window + 1, hour)
local used = 0
for _, h in ipairs(hours) do
  used = used + h[2]
end
local lk = cleaseskey(id)
redis.call('ZREMRANGEBYSCORE', lk, '-inf', ARGV[6]) -- the leases that ended by now
local inflight = redis.call('ZCARD', lk)
-- The rule of store.CallerStore: used + inflight × estimate < budget, and
-- one at a time with no estimate yet.
local admitted = 0
if used < budget and (inflight == 0 or (estimate > 0 and used + inflight * estimate < budget)) then
  admitted = 1
  redis.call('ZADD', lk, ARGV[8], ARGV[7])
  if redis.call('PTTL', lk) < tonumber(ARGV[9]) then
    redis.call('PEXPIRE', lk, ARGV[9]) -- only cleans up: leases are judged by the callers' times
  end
end
local out = {'ok', admitted, used, inflight, estimate}
for _, h in ipairs(hours) do
  out[#out + 1] = h[1]
  out[#out + 1] = h[2]
end
return out
