-- panel.lua — one cell of a figure's grid: what it shows (recorded here, drawn at save time by
-- axes.lua for line / markers / scatter / bar and by raster.lua for imshow / heatmap_table)
-- and its decorations (title, axis labels, ticks, limits, legend). Every method checks its
-- arguments now, so a mistake is reported where it was made, and returns the panel.
local loupe = require "loupe"
local style = require "loupe.plot.style"

local Panel = {}
Panel.__index = Panel

-- Decorations any panel method also accepts in its options table.
local COMMON = {"title", "xlabel", "ylabel", "xlim", "ylim", "xticks", "yticks", "xticklabels",
                "yticklabels", "grid", "zero_line", "legend", "ticks"}
local LEGENDS = {best = true, outside = true, ["upper right"] = true, ["upper left"] = true,
                 ["lower left"] = true, ["lower right"] = true}

local function keys(list, more)
  local out = {}
  for _, k in ipairs(list) do out[#out + 1] = k end
  for _, k in ipairs(more or {}) do out[#out + 1] = k end
  return out
end

function Panel.new(fig, row, col, rowspan, colspan)
  return setmetatable({fig = fig, row = row, col = col, rowspan = rowspan, colspan = colspan,
                       series = {}, opts = {}, n_colors = 0}, Panel)
end

local function check_limits(v, who, what)
  if v == nil then return end
  if type(v) ~= "table" or (v[1] ~= nil and type(v[1]) ~= "number")
      or (v[2] ~= nil and type(v[2]) ~= "number") or (v[1] and v[2] and not (v[2] > v[1])) then
    error(("%s: %s must be {lo, hi} with lo < hi (either may be nil)"):format(who, what), 4)
  end
end

local function check_ticks(v, who, what)
  if v == nil or v == false then return end
  local ok = type(v) == "table"
  for i = 1, ok and #v or 0 do ok = ok and type(v[i]) == "number" end
  if not ok then error(("%s: %s must be a list of numbers or false"):format(who, what), 4) end
end

-- Applies the decoration options in opts (other keys are the caller's business).
function Panel:_decorate(opts, who)
  for _, k in ipairs{"title", "xlabel", "ylabel"} do
    local v = opts[k]
    if v ~= nil and type(v) ~= "string" and type(v) ~= "number" then
      error(("%s: %s must be a string"):format(who, k), 3)
    end
  end
  check_limits(opts.xlim, who, "xlim")
  check_limits(opts.ylim, who, "ylim")
  check_ticks(opts.xticks, who, "xticks")
  check_ticks(opts.yticks, who, "yticks")
  if opts.legend ~= nil and opts.legend ~= false and not LEGENDS[opts.legend] then
    error(who .. ": legend must be false, \"best\", \"outside\", \"upper right\", \"upper left\", "
      .. "\"lower left\" or \"lower right\"", 3)
  end
  for _, k in ipairs(COMMON) do
    if opts[k] ~= nil then self.opts[k] = opts[k] end
  end
end

-- panel:set{title =, xlabel =, ylabel =, xlim = {lo, hi}, ylim =, xticks = {...},
--   yticks = {...} | false, xticklabels = {...}, yticklabels = {...}, grid = bool,
--   zero_line = bool, legend = "best" | ... | false, ticks = bool}
function Panel:set(opts)
  self:_decorate(style.check_options(opts, "plot.set", COMMON), "plot.set")
  return self
end

function Panel:title(s) return self:set{title = s} end
function Panel:xlabel(s) return self:set{xlabel = s} end
function Panel:ylabel(s) return self:set{ylabel = s} end

-- Raises unless the panel is empty or already shows the same kind ("xy", "image", "table").
-- The kind is recorded only once a method has checked all its arguments.
function Panel:_check_kind(kind, who)
  if self.kind and self.kind ~= kind then
    error(("%s: this panel already shows %s; use another panel"):format(who,
      self.kind == "xy" and "a line, markers, scatter or bar plot"
      or self.kind == "image" and "an image" or "a table"), 3)
  end
end

function Panel:_next_color()
  self.n_colors = self.n_colors + 1
  return style.cycle[(self.n_colors - 1) % #style.cycle + 1]
end

local SHAPES = {o = true, s = true, D = true, ["^"] = true, x = true, ["+"] = true}
local DASHES = {["-"] = nil, ["--"] = {5, 3}, [":"] = {1.5, 2}, ["-."] = {5, 2, 1.5, 2}}

-- panel:line([x,] y [, {color, width, label, dash = "--" | ":" | "-." | {on, off},
--   marker = "o", marker_size, alpha}])
function Panel:line(x, y, opts)
  local who = "plot.line"
  if y == nil or (type(y) == "table" and not loupe.is_tensor(y) and y[1] == nil and next(y)) then
    x, y, opts = nil, x, y
  end
  opts = style.check_options(opts, who, keys(COMMON, {"color", "width", "label", "dash", "marker",
                                                      "marker_size", "alpha"}))
  self:_check_kind("xy", who)
  y = style.vector(y, who, "y")
  x = x ~= nil and style.vector(x, who, "x") or loupe.arange(1, y:numel() + 1):float()
  if x:numel() ~= y:numel() then
    error(("%s: x has %d values but y has %d"):format(who, x:numel(), y:numel()), 2)
  end
  local dash = opts.dash
  if type(dash) == "string" then
    if DASHES[dash] == nil and dash ~= "-" then
      error(who .. ": dash must be \"-\", \"--\", \":\", \"-.\" or a list of lengths", 2)
    end
    dash = DASHES[dash]
  end
  if opts.marker ~= nil and not SHAPES[opts.marker] then
    error(who .. ": marker must be one of \"o\", \"s\", \"D\", \"^\", \"x\", \"+\"", 2)
  end
  local color = opts.color and style.color(opts.color, who)
  self:_decorate(opts, who)
  self.kind = "xy"
  self.series[#self.series + 1] = {
    type = "line", x = x, y = y, label = opts.label, color = color or self:_next_color(),
    width = opts.width or style.line_width, dash = dash, marker = opts.marker,
    marker_size = opts.marker_size or style.marker_size, alpha = opts.alpha or 1}
  return self
end

-- Per-point colours [N,3] from `colors` or from class `labels` through `cmap`.
local function point_colors(opts, n, who)
  if opts.colors ~= nil then
    local c = opts.colors
    if not loupe.is_tensor(c) or c:dim() ~= 2 or c:size(1) ~= n or c:size(2) ~= 3 then
      error(("%s: colors must be a [%d,3] tensor"):format(who, n), 3)
    end
    return c:float():contiguous()
  end
  if opts.labels ~= nil then
    local l = style.vector(opts.labels, who, "labels")
    if l:numel() ~= n then error(("%s: %d labels for %d points"):format(who, l:numel(), n), 3) end
    local ok, rgb = pcall(loupe.image.colormap, opts.cmap or "tab10", l)
    if not ok then error(who .. ": " .. tostring(rgb):gsub("^.-image%.colormap: ", ""), 3) end
    return rgb:t():contiguous()
  end
end

-- panel:markers([x,] y [, {color, size, shape = "o", label, alpha, edge, colors = [N,3],
--   labels = class numbers, cmap = "tab10"}])
function Panel:markers(x, y, opts)
  local who = "plot.markers"
  if y == nil or (type(y) == "table" and not loupe.is_tensor(y) and y[1] == nil and next(y)) then
    x, y, opts = nil, x, y
  end
  opts = style.check_options(opts, who, keys(COMMON, {"color", "size", "shape", "label", "alpha",
                                                      "edge", "colors", "labels", "cmap"}))
  self:_check_kind("xy", who)
  y = style.vector(y, who, "y")
  x = x ~= nil and style.vector(x, who, "x") or loupe.arange(1, y:numel() + 1):float()
  if x:numel() ~= y:numel() then
    error(("%s: x has %d values but y has %d"):format(who, x:numel(), y:numel()), 2)
  end
  if opts.shape ~= nil and not SHAPES[opts.shape] then
    error(who .. ": shape must be one of \"o\", \"s\", \"D\", \"^\", \"x\", \"+\"", 2)
  end
  local color = opts.color and style.color(opts.color, who)
  local colors = point_colors(opts, y:numel(), who)
  self:_decorate(opts, who)
  self.kind = "xy"
  self.series[#self.series + 1] = {
    type = "markers", x = x, y = y, label = opts.label, shape = opts.shape or "o",
    color = color or self:_next_color(), colors = colors, size = opts.size or style.marker_size,
    alpha = opts.alpha or 1, edge = opts.edge or 0}
  return self
end

-- panel:scatter(xy [N,2] [, labels [N] (class numbers from 1)] [, {size, alpha, classes =
--   {names}, legend, cmap, color, thumbnails = [N,C,H,W], thumb_size = 24,
--   thumb_overlap = false}])
function Panel:scatter(xy, labels, opts)
  local who = "plot.scatter"
  if type(labels) == "table" and not loupe.is_tensor(labels) and labels[1] == nil then
    labels, opts = nil, labels
  end
  opts = style.check_options(opts, who, keys(COMMON, {"size", "alpha", "classes", "cmap", "color",
                                                      "thumbnails", "thumb_size", "thumb_overlap",
                                                      "edge"}))
  self:_check_kind("xy", who)
  if not loupe.is_tensor(xy) or xy:dim() ~= 2 or xy:size(2) ~= 2 then
    error(who .. ": xy must be a [N,2] tensor, got " ..
      (loupe.is_tensor(xy) and style.shape_str(xy) or type(xy)), 2)
  end
  local n = xy:size(1)
  xy = xy:float()
  local s = {type = "scatter", x = xy:select(2, 1):contiguous(), y = xy:select(2, 2):contiguous(),
             alpha = opts.alpha or (n > 2000 and 0.7 or 0.9),
             size = opts.size or (n > 20000 and 2.5 or n > 2000 and 3.5 or 5),
             edge = opts.edge or (n <= 2000 and 0.5 or 0), thumb_size = opts.thumb_size or 24,
             thumb_overlap = opts.thumb_overlap or false}
  if labels ~= nil then
    local l = style.vector(labels, who, "labels")
    if l:numel() ~= n then error(("%s: %d labels for %d points"):format(who, l:numel(), n), 2) end
    local lo, hi = style.finite_range(l)
    if lo and lo < 1 then error(who .. ": labels are class numbers counting from 1", 2) end
    local k = math.floor(hi or 0)
    if opts.classes ~= nil and type(opts.classes) ~= "table" then
      error(who .. ": classes must be a list of names", 2)
    end
    s.n_classes = math.max(k, opts.classes and #opts.classes or 0)
    s.cmap = opts.cmap or (s.n_classes <= 10 and "tab10" or "tab20")
    s.colors = point_colors({labels = l, cmap = s.cmap}, n, who)
    s.classes = opts.classes
    s.legend = self.opts.legend == nil and opts.legend == nil and "outside" or nil
  else
    s.color = opts.color and style.color(opts.color, who) or self:_next_color()
  end
  if opts.thumbnails ~= nil then
    local t = opts.thumbnails
    local ok = loupe.is_tensor(t) and t:dim() >= 3 and t:size(1) == n
    ok = ok and (t:dim() == 3 or (t:dim() == 4 and (t:size(2) == 1 or t:size(2) == 3)))
    if not ok then
      error(("%s: thumbnails must be [%d,C,H,W] (C = 1 or 3) or [%d,H,W], got %s"):format(who, n, n,
        loupe.is_tensor(t) and style.shape_str(t) or type(t)), 2)
    end
    s.thumbnails = t
  end
  if s.legend then self.opts.legend = s.legend end
  self:_decorate(opts, who)
  self.kind = "xy"
  self.series[#self.series + 1] = s
  return self
end

-- panel:bar(values [, {labels = {names}, color, width = 0.8, value_labels = false, fmt}])
function Panel:bar(values, opts)
  local who = "plot.bar"
  opts = style.check_options(opts, who, keys(COMMON, {"labels", "color", "width", "value_labels",
                                                      "fmt"}))
  self:_check_kind("xy", who)
  local v = style.vector(values, who, "values")
  if opts.labels ~= nil and (type(opts.labels) ~= "table" or #opts.labels ~= v:numel()) then
    error(("%s: labels must be a list of %d names"):format(who, v:numel()), 2)
  end
  local color = opts.color and style.color(opts.color, who)
  self:_decorate(opts, who)
  self.kind = "xy"
  self.series[#self.series + 1] = {
    type = "bar", y = v, x = loupe.arange(1, v:numel() + 1):float(), labels = opts.labels,
    color = color or self:_next_color(),
    width = opts.width or 0.8, value_labels = opts.value_labels, fmt = opts.fmt}
  return self
end

-- panel:imshow(t [, {cmap, zmid, range = {lo, hi} | "auto", colorbar = false, aspect = "equal" |
--   "auto", frame = true, flip = false}])
-- t: [H,W] or [1,H,W] through a colour map (default "viridis"; diverging maps centre on zmid,
-- default 0), or [3,H,W] RGB in [0,1] (uint8: 0..255; or mapped from range). flip = true
-- shows the rows upside down (data stored bottom-up).
function Panel:imshow(t, opts)
  local who = "plot.imshow"
  opts = style.check_options(opts, who, keys(COMMON, {"cmap", "zmid", "range", "colorbar", "aspect",
                                                      "frame", "flip"}))
  self:_check_kind("image", who)
  if not loupe.is_tensor(t) then error(who .. ": expected a tensor, got " .. type(t), 2) end
  local d = t:dim()
  if not (d == 2 or (d == 3 and (t:size(1) == 1 or t:size(1) == 3))) then
    error(who .. ": expected [H,W], [1,H,W] or [3,H,W], got " .. style.shape_str(t), 2)
  end
  if opts.aspect ~= nil and opts.aspect ~= "equal" and opts.aspect ~= "auto" then
    error(who .. ": aspect must be \"equal\" or \"auto\"", 2)
  end
  local img = {colorbar = opts.colorbar, aspect = opts.aspect or "equal",
               frame = opts.frame ~= false}
  if d == 3 and t:size(1) == 1 then t = t[1] end
  if opts.flip then -- upside down (rows stored bottom-up, as plotly's y axis)
    local h = t:size(t:dim() - 1)
    t = t:index_select(t:dim() - 1, loupe.arange(h, 0, -1))
  end
  if t:dim() == 2 then
    local scale = {}
    local cmap = opts.cmap or "viridis"
    if opts.range ~= nil then scale.range = opts.range
    elseif opts.zmid ~= nil then scale.zmid = opts.zmid
    else
      scale.range = "auto"
      if cmap == "RdBu" or cmap == "RdBu_r" then scale.range, scale.zmid = nil, 0 end
    end
    local ok, rgb, lo, hi = pcall(loupe.image.colormap, cmap, t, scale)
    if not ok then error(who .. ": " .. tostring(rgb):gsub("^.-image%.colormap: ", ""), 2) end
    img.rgb, img.lo, img.hi, img.cmap = rgb, lo, hi, cmap
  else
    for _, k in ipairs{"cmap", "colorbar"} do
      if opts[k] then
        error(("%s: %s needs one channel, got %s"):format(who, k, style.shape_str(t)), 2)
      end
    end
    local x = t:float()
    if t:dtype() == "uint8" and opts.range == nil then x = x / 255 end -- raw image bytes
    if opts.range == "auto" then
      local lo, hi = style.finite_range(x)
      if lo and hi > lo then x = (x - lo) / (hi - lo) end
    elseif type(opts.range) == "table" then
      x = (x - opts.range[1]) / (opts.range[2] - opts.range[1])
    end
    img.rgb = x:contiguous()
  end
  self:_decorate(opts, who)
  self.kind, self.image = "image", img
  return self
end

-- panel:heatmap_table(m [R,C] [, {row_labels, col_labels, fmt, cmap = "Blues", range,
--   numbers = true}]) — a table of coloured cells with their values (a confusion matrix).
function Panel:heatmap_table(m, opts)
  local who = "plot.heatmap_table"
  opts = style.check_options(opts, who, keys(COMMON, {"row_labels", "col_labels", "fmt", "cmap",
                                                      "range", "numbers"}))
  self:_check_kind("table", who)
  if not loupe.is_tensor(m) or m:dim() ~= 2 then
    error(who .. ": expected a [R,C] tensor, got " ..
      (loupe.is_tensor(m) and style.shape_str(m) or type(m)), 2)
  end
  local r, c = m:size(1), m:size(2)
  for _, k in ipairs{{"row_labels", r}, {"col_labels", c}} do
    local l = opts[k[1]]
    if l ~= nil and (type(l) ~= "table" or #l ~= k[2]) then
      error(("%s: %s must be a list of %d names"):format(who, k[1], k[2]), 2)
    end
  end
  local f = m:float()
  local ok, rgb, lo, hi = pcall(loupe.image.colormap, opts.cmap or "Blues", f,
                                {range = opts.range or "auto"})
  if not ok then error(who .. ": " .. tostring(rgb):gsub("^.-image%.colormap: ", ""), 2) end
  local fmt = opts.fmt
  if not fmt then
    local integral = f:eq(f:long():float()):float():min():item() == 1
    fmt = integral and "%d" or "%.2f"
  end
  self:_decorate(opts, who)
  self.kind = "table"
  self.table = {values = f, rgb = rgb, lo = lo, hi = hi, fmt = fmt, numbers = opts.numbers ~= false,
                row_labels = opts.row_labels, col_labels = opts.col_labels}
  return self
end

return Panel
