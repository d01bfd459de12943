-- Sessions, one batch. KEYS[1]: the activity index walked ('{p}:a', or
-- '{p}:a:<id>' for one subscription's sessions).
-- ARGV: prefix, activeBefore ('' for none), holdEndedBy ('' for none), the
-- index entry after which to go on ('' to start from the oldest), how many
-- entries to read at most.
-- Returns 'ok', the entry to go on after ('' when the walk is over), and
-- the rows of the sessions selected among the entries read, oldest
-- LastActive first, ties by client ID byte-wise: one bounded step of a
-- query, which the Go side repeats.
local before, ended, after, count = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local lo, hi = '-', '+'
if after ~= '' then
  lo = '(' .. after
end
if before ~= '' then
  hi = '(' .. before -- an entry starts with its LastActive: below it is before it
end
local entries = redis.call('ZRANGEBYLEX', KEYS[1], lo, hi, 'LIMIT', 0, count)
local out = {'ok', ''}
if #entries == count then
  out[2] = entries[#entries]
end
for _, e in ipairs(entries) do
  local client = string.sub(e, 21)
  local f = fields(sessionkey(client))
  -- An entry whose session has gone or moved on is left for its next
  -- write to drop (none is: every script moves them together).
  if f[1] and f[4] == string.sub(e, 1, 20) and (ended == '' or not f[12] or not lt(ended, f[12])) then
    push(out, client, f)
  end
end
return out
