-- style.lua — loupe.plot's look (sizes in canvas units = PNG pixels at scale 1, colours) and
-- the small helpers every part of it shares: colour parsing, text measuring, option checks.
-- The defaults follow matplotlib's: thin dark axes, outward ticks, tab10 colours, a light
-- grid where one helps, 10-12 px text.
local loupe = require "loupe"
local P = loupe._plot

local M = {}

M.font = {tick = 10, label = 11, title = 12, figure_title = 14, legend = 10, cell = 10}
M.text_color = {0.15, 0.15, 0.15}
M.axis_color = {0.2, 0.2, 0.2}
M.grid_color = {0.9, 0.9, 0.9}
M.zero_color = {0.55, 0.55, 0.55}
M.frame_color = {0.75, 0.75, 0.75}
M.tick_len = 4
M.pad = 4         -- between a tick and its label, a label and the next thing
M.margin = 8      -- around the figure
M.spacing = 12    -- between grid cells (figure{spacing = ...})
M.line_width = 1.75
M.marker_size = 6

-- matplotlib's tab10, also reachable as "C0".."C9"
M.cycle = {
  {0.122, 0.467, 0.706}, {1.000, 0.498, 0.055}, {0.173, 0.627, 0.173}, {0.839, 0.153, 0.157},
  {0.580, 0.404, 0.741}, {0.549, 0.337, 0.294}, {0.890, 0.467, 0.761}, {0.498, 0.498, 0.498},
  {0.737, 0.741, 0.133}, {0.090, 0.745, 0.812},
}

local NAMED = {
  black = {0, 0, 0}, white = {1, 1, 1}, gray = {0.5, 0.5, 0.5}, grey = {0.5, 0.5, 0.5},
  lightgray = {0.83, 0.83, 0.83}, blue = M.cycle[1], orange = M.cycle[2], green = M.cycle[3],
  red = M.cycle[4], purple = M.cycle[5], brown = M.cycle[6], pink = M.cycle[7],
  olive = M.cycle[9], cyan = M.cycle[10],
}

-- A colour {r, g, b [, a]} (components in [0, 1]) from a name ("red", "C3"), "#rrggbb",
-- "#rrggbbaa" or a table. `who` names the calling function in errors.
function M.color(c, who)
  if type(c) == "table" and #c >= 3 then
    for i = 1, #c do
      if type(c[i]) ~= "number" then error(who .. ": colour components must be numbers", 3) end
    end
    return c
  end
  if type(c) == "string" then
    if NAMED[c] then return NAMED[c] end
    local k = c:match("^C(%d)$")
    if k then return M.cycle[tonumber(k) + 1] end
    local hex = c:match("^#(%x+)$")
    if hex and (#hex == 6 or #hex == 8) then
      local v = {}
      for i = 1, #hex, 2 do v[#v + 1] = tonumber(hex:sub(i, i + 1), 16) / 255 end
      return v
    end
  end
  error(("%s: unknown colour %s (use a name such as \"red\" or \"C1\", \"#rrggbb\" or {r, g, b})")
    :format(who, tostring(c)), 3)
end

function M.set_color(canvas, c, alpha)
  canvas:color(c[1], c[2], c[3], (c[4] or 1) * (alpha or 1))
end

-- Text width, ascent and descent at `size`, cached (layouts measure the same strings often).
local sizes = {}
function M.measure(s, size, bold)
  local key = (bold and "b" or "n") .. size .. "\0" .. s
  local m = sizes[key]
  if not m then
    local w, asc, desc = P.text_size(s, size, bold)
    m = {w, asc, desc}
    sizes[key] = m
  end
  return m[1], m[2], m[3]
end

function M.text_width(s, size, bold) return (M.measure(s, size, bold)) end
function M.text_height(size)
  local _, asc, desc = M.measure("Ag", size)
  return asc + desc
end

-- Shortens s with an ellipsis until it fits `width` at `size` (at least one character).
function M.fit_text(s, size, width, bold)
  if M.text_width(s, size, bold) <= width then return s end
  local chars = {}
  for _, cp in utf8.codes(s) do chars[#chars + 1] = utf8.char(cp) end
  for n = #chars - 1, 1, -1 do
    local t = table.concat(chars, "", 1, n) .. "\u{2026}"
    if M.text_width(t, size, bold) <= width then return t end
  end
  return chars[1] .. "\u{2026}"
end

-- Raises "<who>: unknown option 'k' (expected one of: ...)" for keys not in `allowed`.
function M.check_options(opts, who, allowed)
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    error(who .. ": expected an options table, got " .. type(opts), 3)
  end
  local set = {}
  for _, k in ipairs(allowed) do set[k] = true end
  for k in pairs(opts) do
    if not set[k] then
      local names = {}
      for _, a in ipairs(allowed) do names[#names + 1] = a end
      table.sort(names)
      error(("%s: unknown option '%s' (expected one of: %s)"):format(who, tostring(k),
        table.concat(names, ", ")), 3)
    end
  end
  return opts
end

-- A float32 1-D tensor from a tensor or a Lua list of numbers.
function M.vector(v, who, what)
  if loupe.is_tensor(v) then
    if v:dim() > 1 then
      local n = v:numel()
      if n ~= v:size(1) and n ~= v:size(v:dim()) then
        error(("%s: %s must be 1-D, got [%s]"):format(who, what, table.concat(v:shape(), ",")), 3)
      end
    end
    return v:reshape(-1):float()
  end
  if type(v) == "table" then
    for i = 1, #v do
      if type(v[i]) ~= "number" then
        error(("%s: %s must be a tensor or a list of numbers"):format(who, what), 3)
      end
    end
    if #v == 0 then return loupe.zeros(0) end
    return loupe.tensor(v):float()
  end
  error(("%s: %s must be a tensor or a list of numbers, got %s"):format(who, what, type(v)), 3)
end

-- min and max over the finite values of t (nil when there are none).
function M.finite_range(t)
  if t:numel() == 0 then return nil end
  local ok = t:abs():lt(math.huge)
  local f = t:masked_select(ok)
  if f:numel() == 0 then return nil end
  return f:min():item(), f:max():item()
end

function M.shape_str(t) return "[" .. table.concat(t:shape(), ",") .. "]" end

return M
