-- figure.lua — plot.figure: a page holding a grid of panels and a title; fig:save(path)
-- draws it as PNG, SVG or PDF (by the extension, written atomically) and fig:render() returns
-- its pixels. Nothing is drawn before save or render: panels only record what to show, so a
-- figure can be saved in several formats.
local loupe = require "loupe"
local style = require "loupe.plot.style"
local Panel = require "loupe.plot.panel"
local axes = require "loupe.plot.axes"
local raster = require "loupe.plot.raster"

local P = loupe._plot
local M = {}

local Figure = {}
Figure.__index = Figure

local function positive_int(v, who, what, default)
  if v == nil then return default end
  if math.type(v) ~= "integer" or v < 1 then
    error(("%s: %s must be a positive integer, got %s"):format(who, what, tostring(v)), 4)
  end
  return v
end

local function weights(v, n, who, what)
  if v == nil then
    local w = {}
    for i = 1, n do w[i] = 1 end
    return w
  end
  if type(v) ~= "table" or #v ~= n then
    error(("%s: %s must be a list of %d positive numbers"):format(who, what, n), 4)
  end
  for i = 1, n do
    if type(v[i]) ~= "number" or not (v[i] > 0) then
      error(("%s: %s must be a list of %d positive numbers"):format(who, what, n), 4)
    end
  end
  return v
end

-- plot.figure{width, height, rows = 1, cols = 1, spacing = 12, margin = 8, title,
--   col_widths = {relative widths}, row_heights = {relative heights}}
function M.new(opts)
  local who = "plot.figure"
  opts = style.check_options(opts, who, {"width", "height", "rows", "cols", "spacing", "margin",
                                         "title", "col_widths", "row_heights"})
  local rows = positive_int(opts.rows, who, "rows", 1)
  local cols = positive_int(opts.cols, who, "cols", 1)
  local f = setmetatable({
    rows = rows, cols = cols, spacing = opts.spacing or style.spacing,
    margin = opts.margin or style.margin, suptitle = opts.title,
    width = opts.width or (cols == 1 and 640 or 40 + 260 * cols),
    height = opts.height or (rows == 1 and 440 or 40 + 230 * rows),
    col_w = weights(opts.col_widths, cols, who, "col_widths"),
    row_h = weights(opts.row_heights, rows, who, "row_heights"),
    panels = {}, at = {}}, Figure)
  for _, k in ipairs{"width", "height", "spacing", "margin"} do
    local v = f[k]
    local least = (k == "width" or k == "height") and 16 or 0
    if type(v) ~= "number" or not (v >= least and v < math.huge) then
      error(("%s: %s must be a number >= %d, got %s"):format(who, k, least, tostring(v)), 2)
    end
  end
  if f.suptitle ~= nil and type(f.suptitle) ~= "string" and type(f.suptitle) ~= "number" then
    error(who .. ": title must be a string", 2)
  end
  return f
end

-- fig:panel(row, col [, {rowspan = 1, colspan = 1, title =, xlabel =, ...}]) -> the panel at
-- that grid position (made on first use).
function Figure:panel(r, c, opts)
  local who = "plot.panel"
  r, c = r or 1, c or 1
  if math.type(r) ~= "integer" or math.type(c) ~= "integer" or r < 1 or c < 1 or r > self.rows
      or c > self.cols then
    error(("%s: (%s, %s) is outside the %dx%d grid"):format(who, tostring(r), tostring(c),
      self.rows, self.cols), 2)
  end
  local o = {}
  for k, v in pairs(opts or {}) do o[k] = v end
  local rs, cs = o.rowspan or 1, o.colspan or 1
  o.rowspan, o.colspan = nil, nil
  if math.type(rs) ~= "integer" or math.type(cs) ~= "integer" or rs < 1 or cs < 1
      or r + rs - 1 > self.rows or c + cs - 1 > self.cols then
    error(("%s: rowspan/colspan reach outside the %dx%d grid"):format(who, self.rows, self.cols), 2)
  end
  local key = r .. "," .. c
  local p = self.at[key]
  if not p then
    p = Panel.new(self, r, c, rs, cs)
    self.at[key] = p
    self.panels[#self.panels + 1] = p
  end
  if next(o) then p:set(o) end
  return p
end

-- On a one-panel figure, fig:line(...) etc. draw into that panel and return the figure.
for _, name in ipairs{"imshow", "line", "markers", "scatter", "bar", "heatmap_table", "set"} do
  Figure[name] = function(self, ...)
    if self.rows * self.cols ~= 1 then
      error(("plot.%s: fig:%s is for one-panel figures; use fig:panel(row, col):%s"):format(
        name, name, name), 2)
    end
    local p = self:panel(1, 1)
    p[name](p, ...)
    return self
  end
end

local function offsets(total, ws, spacing)
  local sum = 0
  for _, w in ipairs(ws) do sum = sum + w end
  local avail = math.max(1, total - spacing * (#ws - 1))
  local pos, sizes, x = {}, {}, 0
  for i, w in ipairs(ws) do
    pos[i], sizes[i] = x, avail * w / sum
    x = x + sizes[i] + spacing
  end
  return pos, sizes
end

function Figure:_draw(cv)
  local m, F = self.margin, style.font
  local top = m
  if self.suptitle then
    style.set_color(cv, style.text_color)
    cv:text(style.fit_text(tostring(self.suptitle), F.figure_title, self.width - 2 * m),
            self.width / 2, m, F.figure_title, false, 0.5, "top")
    top = m + style.text_height(F.figure_title) + style.pad * 2
  end
  local xs, ws = offsets(self.width - 2 * m, self.col_w, self.spacing)
  local ys, hs = offsets(self.height - top - m, self.row_h, self.spacing)
  for _, p in ipairs(self.panels) do
    local x, y = m + xs[p.col], top + ys[p.row]
    local last_c, last_r = p.col + p.colspan - 1, p.row + p.rowspan - 1
    local w = xs[last_c] + ws[last_c] - xs[p.col]
    local h = ys[last_r] + hs[last_r] - ys[p.row]
    if p.kind == "xy" then axes.draw(p, cv, x, y, w, h)
    elseif p.kind == "image" then raster.draw_image(p, cv, x, y, w, h)
    elseif p.kind == "table" then raster.draw_table(p, cv, x, y, w, h)
    elseif p.opts.title then -- an empty panel with a title: just the title
      style.set_color(cv, style.text_color)
      cv:text(style.fit_text(tostring(p.opts.title), F.title, w), x + w / 2, y, F.title, false,
              0.5, "top")
    end
  end
end

-- fig:save(path [, {scale = 1}]) — PNG, SVG or PDF by the extension; scale multiplies the PNG's
-- pixels (2 for high-density screens). Returns path.
function Figure:save(path, opts)
  opts = style.check_options(opts, "plot.save", {"scale"})
  if type(path) ~= "string" then error("plot.save: expected a file path, got " .. type(path), 2) end
  local format = P.format_of(path)
  local cv <close> = P.canvas(format, self.width, self.height, opts.scale or 1)
  self:_draw(cv)
  cv:save(path)
  return path
end

-- fig:render([{scale = 1}]) -> float32 [3, H, W] pixels in [0, 1], as the PNG would hold.
function Figure:render(opts)
  opts = style.check_options(opts, "plot.render", {"scale"})
  local cv <close> = P.canvas("png", self.width, self.height, opts.scale or 1)
  self:_draw(cv)
  return cv:pixels()
end

function Figure:__tostring()
  return ("figure %gx%g, %dx%d panels"):format(self.width, self.height, self.rows, self.cols)
end

return M
