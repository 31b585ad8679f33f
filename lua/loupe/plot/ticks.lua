-- ticks.lua — axis ticks and labels for loupe.plot: "nice" tick values (1-2-5 steps), their
-- labels, and spreading labels apart so they never overlap.
local M = {}

local MINUS = "\u{2212}" -- a real minus sign, as matplotlib prints it

-- The tick step for about `n` ticks over a range of `span`: 1, 2 or 5 times a power of ten.
local function nice_step(span, n)
  local raw = span / math.max(n, 1)
  local p = 10 ^ math.floor(math.log(raw, 10))
  for _, m in ipairs{1, 2, 5, 10} do
    if m * p >= raw * (1 - 1e-9) then return m * p end
  end
  return 10 * p
end

-- Multiples of a nice step inside [lo, hi], at most about max_n of them (at least 2 when the
-- range allows). Returns the values and the step.
function M.nice(lo, hi, max_n)
  if not (hi > lo) then return {lo}, 1 end
  local step = nice_step(hi - lo, max_n)
  local first = math.ceil(lo / step - 1e-9)
  local vals = {}
  for k = first, math.floor(hi / step + 1e-9) do
    local v = k * step
    if math.abs(v) < step * 1e-9 then v = 0 end -- no "-0" from rounding
    vals[#vals + 1] = v
  end
  return vals, step
end

-- Candidate tick sets from dense to sparse (for callers that test whether labels fit).
function M.candidates(lo, hi, max_n)
  local out, seen = {}, {}
  for n = max_n, 1, -1 do
    local vals, step = M.nice(lo, hi, n)
    if not seen[step] then
      seen[step] = true
      out[#out + 1] = {vals = vals, step = step}
    end
  end
  return out
end

local function minus(s) return (s:gsub("^%-", MINUS):gsub("e%-", "e" .. MINUS)) end

-- Label for v on an axis ticked every `step`: as many decimals as the step needs; %g beyond
-- 1e6 or below 1e-4.
function M.format(v, step)
  if v == 0 then return "0" end
  local a = math.max(math.abs(v), step)
  local s
  if a >= 1e6 or a < 1e-4 then
    s = ("%.3g"):format(v)
  else
    local d = math.max(0, -math.floor(math.log(step, 10) + 1e-9))
    s = ("%." .. d .. "f"):format(v)
  end
  return minus(s)
end

-- A number for display with `fmt` (a string.format pattern, default "%.3g").
function M.number(v, fmt)
  return minus((fmt or "%.3g"):format(v))
end

-- Positions pos[i] (any order) moved apart to at least `gap` from each other within [a, b],
-- as little as possible (least squares, by merging clusters). Returns new positions.
function M.spread(pos, gap, a, b)
  local n = #pos
  local order = {}
  for i = 1, n do order[i] = i end
  table.sort(order, function(i, j) return pos[i] < pos[j] end)
  local clusters = {} -- {first = k, n = count, sum = sum of (p - offset)}
  local function start(c)
    local s = c.sum / c.n
    local hi = b - (c.n - 1) * gap
    if s > hi then s = hi end
    if s < a then s = a end
    return s
  end
  for k = 1, n do
    local c = {first = k, n = 1, sum = pos[order[k]]}
    clusters[#clusters + 1] = c
    while #clusters > 1 do
      local prev = clusters[#clusters - 1]
      local cur = clusters[#clusters]
      if start(prev) + prev.n * gap <= start(cur) + 1e-9 then break end
      -- members of cur sit prev.n places further along in the merged cluster
      prev.sum = prev.sum + cur.sum - cur.n * prev.n * gap
      prev.n = prev.n + cur.n
      clusters[#clusters] = nil
    end
  end
  local out = {}
  for _, c in ipairs(clusters) do
    local s = start(c)
    for j = 0, c.n - 1 do out[order[c.first + j]] = s + j * gap end
  end
  return out
end

return M
