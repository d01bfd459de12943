-- SetReported. KEYS[1]: the subscription's hash.
-- ARGV: prefix, at, block share, block reset, week share, week reset, the
-- hour of the block's start ('' for none).
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'notfound'}
end
local at = redis.call('HGET', KEYS[1], 'rat')
if at and lt(ARGV[2], at) then
  return {'ok'} -- a later report is stored
end
redis.call('HSET', KEYS[1], 'rat', ARGV[2], 'rbs', ARGV[3], 'rbr', ARGV[4], 'rws', ARGV[5], 'rwr', ARGV[6])
if ARGV[7] ~= '' then
  redis.call('HSET', KEYS[1], 'block', ARGV[7])
end
return {'ok'}
