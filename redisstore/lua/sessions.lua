-- Sessions. KEYS[1]: the set of subscription IDs.
-- ARGV: prefix, subscription ('' for all), activeBefore ('' for none), limit.
-- Returns 'ok' and the rows selected, one after another; with a positive
-- limit, the limit oldest by LastActive, ties by client ID.
local sub, before, limit = ARGV[2], ARGV[3], tonumber(ARGV[4])
local subs
if sub ~= '' then
  if redis.call('EXISTS', subkey(sub)) == 0 then
    return {'ok'}
  end
  subs = {sub}
else
  subs = redis.call('SMEMBERS', KEYS[1])
end
local bh, bl
if before ~= '' then
  bh, bl = halves(before)
end
local out, picked = {'ok'}, {}
for _, id in ipairs(subs) do
  for _, client in ipairs(redis.call('SMEMBERS', memberskey(id))) do
    local f = fields(sessionkey(client))
    if f[1] then
      local h, l = halves(f[4])
      if not bh or h < bh or (h == bh and l < bl) then
        if limit > 0 then
          picked[#picked + 1] = {client, f, h, l}
        else
          push(out, client, f)
        end
      end
    end
  end
end
if limit > 0 and #picked > 0 then
  -- by LastActive, then by client ID byte-wise, like Go's string comparison
  local function bytelt(a, b)
    for i = 1, math.min(#a, #b) do
      local x, y = string.byte(a, i), string.byte(b, i)
      if x ~= y then
        return x < y
      end
    end
    return #a < #b
  end
  table.sort(picked, function(a, b)
    if a[3] ~= b[3] then
      return a[3] < b[3]
    end
    if a[4] ~= b[4] then
      return a[4] < b[4]
    end
    return bytelt(a[1], b[1])
  end)
  for i = 1, math.min(limit, #picked) do
    push(out, picked[i][1], picked[i][2])
  end
end
return out
