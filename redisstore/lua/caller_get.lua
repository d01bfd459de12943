-- Caller, CallerByKey and Callers. KEYS[1]: the caller's hash, the key
-- index or the set of caller IDs. ARGV: prefix, how ('id', 'key' or
-- 'all'), the caller's ID or key hash (hex). Returns 'ok' and, for each
-- caller, its ID and hash (field, value, ...).
local how = ARGV[2]
local ids
if how == 'id' then
  ids = {ARGV[3]}
elseif how == 'key' then
  local id = redis.call('HGET', KEYS[1], ARGV[3])
  if not id then
    return {'notfound'}
  end
  ids = {id}
else
  ids = redis.call('SMEMBERS', KEYS[1])
end
local out = {'ok'}
for _, id in ipairs(ids) do
  local h = redis.call('HGETALL', callerkey(id))
  if #h == 0 and how ~= 'all' then
    return {'notfound'}
  end
  out[#out + 1] = id
  out[#out + 1] = h
end
return out
