-- Index, a step of indexing the sessions written before the activity index
-- existed (see lib.lua's reindex). KEYS[1]: the set of subscription IDs.
-- ARGV: prefix, step, subscription, SSCAN cursor.
--   'start': returns 'done' if the index is complete, else 'subs' and the
--            subscription IDs;
--   'scan':  indexes a batch of the subscription's clients from the cursor
--            and returns 'ok' and the next cursor ('0' when done);
--   'mark':  records that the index is complete.
local step = ARGV[2]
local mark = P .. 'indexed'
if step == 'start' then
  if redis.call('EXISTS', mark) == 1 then
    return {'done'}
  end
  return {'subs', redis.call('SMEMBERS', KEYS[1])}
elseif step == 'scan' then
  local id = ARGV[3]
  local r = redis.call('SSCAN', memberskey(id), ARGV[4], 'COUNT', 256)
  for _, client in ipairs(r[2]) do
    local s = redis.call('HMGET', sessionkey(client), 'sub', 'last')
    if s[1] == id and s[2] then
      reindex(client, false, false, id, s[2]) -- already there: no change
    end
  end
  return {'ok', r[1]}
elseif step == 'mark' then
  redis.call('SET', mark, '1')
  return {'ok'}
end
return {'bad step'}
