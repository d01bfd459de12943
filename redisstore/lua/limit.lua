-- SetModelLimit. KEYS[1]: the subscription's hash, where each model limit is
-- a field 'm:<model>' holding its until (20 digits) followed by its reason.
-- ARGV: prefix, model, until, reason, now.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'notfound'}
end
local model, untl, reason, now = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local mine = 'm:' .. model
local h = redis.call('HGETALL', KEYS[1])
for i = 1, #h, 2 do
  local f = h[i]
  if string.sub(f, 1, 2) == 'm:' and (f == mine or not lt(now, string.sub(h[i + 1], 1, 20))) then
    redis.call('HDEL', KEYS[1], f)
  end
end
if lt(now, untl) then
  redis.call('HSET', KEYS[1], mine, untl .. reason)
end
return {'ok'}
