-- Release. KEYS[1]: the client's session. ARGV: prefix, client, idleSince
-- ('' for none). Returns 'ok' and the session's row, or why not.
local f = fields(KEYS[1])
local on, last = f[1], f[4]
if not on then
  return {'notfound'}
end
if ARGV[3] ~= '' and lt(ARGV[3], last) then
  return {'conflict', last}
end
redis.call('SREM', memberskey(on), ARGV[2])
unhold(on, ARGV[2], f[12])
reindex(ARGV[2], on, last, false)
redis.call('DEL', KEYS[1])
local out = {'ok'}
push(out, ARGV[2], f)
return out
