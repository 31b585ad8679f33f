-- axes.lua — draws an x-y panel (lines, markers, scatter, bars) into its cell: data limits
-- with 5 % margins (bars stick to 0), ticks that fit (1-2-5 steps; as many as the labels
-- allow without touching), tick labels, axis labels, title, grid, zero line, legend.
--
-- Layout, inside the cell (x, y, w, h): title on top; y label and y tick labels on the left;
-- x tick labels and x label below; an "outside" legend on the right. The y ticks depend on
-- the plot height and the x ticks on the plot width, which depends on the y tick labels'
-- width, and rotated category labels change the height: two passes settle it.
local loupe = require "loupe"
local style = require "loupe.plot.style"
local ticks = require "loupe.plot.ticks"
local legend = require "loupe.plot.legend"

local M = {}

local function snap(v) return math.floor(v) + 0.5 end -- crisp 1-unit lines

local function pad_range(lo, hi, frac)
  if hi > lo then
    local d = (hi - lo) * frac
    return lo - d, hi + d
  end
  local d = lo ~= 0 and math.abs(lo) * 0.1 or 1
  return lo - d, hi + d
end

-- x and y limits of panel p.
local function limits(p)
  local xl, xh, yl, yh = math.huge, -math.huge, math.huge, -math.huge
  local bars, labelled = false, false
  for _, s in ipairs(p.series) do
    local a, b = style.finite_range(s.x)
    if a then xl, xh = math.min(xl, a), math.max(xh, b) end
    a, b = style.finite_range(s.y)
    if a then yl, yh = math.min(yl, a), math.max(yh, b) end
    if s.type == "bar" then
      bars, labelled = true, labelled or s.value_labels
      xl, xh = math.min(xl, 0.5), math.max(xh, s.y:numel() + 0.5)
    end
  end
  if xl > xh then xl, xh = 0, 1 end
  if yl > yh then yl, yh = 0, 1 end
  if not bars then xl, xh = pad_range(xl, xh, 0.05) end
  if bars then
    yl, yh = math.min(yl, 0), math.max(yh, 0)
    local l2, h2 = pad_range(yl, yh, labelled and 0.12 or 0.05) -- room for value labels
    yl, yh = yl < 0 and l2 or 0, yh > 0 and h2 or 0
  else
    yl, yh = pad_range(yl, yh, 0.05)
  end
  local xlim, ylim = p.opts.xlim or {}, p.opts.ylim or {}
  xl, xh = xlim[1] or xl, xlim[2] or xh
  yl, yh = ylim[1] or yl, ylim[2] or yh
  if not (xh > xl) then xl, xh = pad_range(xl, xl, 0) end
  if not (yh > yl) then yl, yh = pad_range(yl, yl, 0) end
  return xl, xh, yl, yh, bars
end

-- Category labels of the x axis: explicit xticklabels, or bar labels / bar numbers.
local function categories(p)
  local o = p.opts
  if o.xticklabels and o.xticks then return o.xticks, o.xticklabels end
  for _, s in ipairs(p.series) do
    if s.type == "bar" then
      local vals, labels = {}, {}
      for i = 1, s.y:numel() do
        vals[i] = i
        labels[i] = s.labels and tostring(s.labels[i]) or tostring(i)
      end
      return vals, labels
    end
  end
end

-- y ticks for a plot of height ph: {vals, labels, width (widest label), explicit}.
local function y_ticks(p, yl, yh, ph)
  local o, F = p.opts, style.font.tick
  local t = {vals = {}, labels = {}, width = 0}
  if o.ticks == false or o.yticks == false then return t end
  if o.yticks then
    t.explicit = true
    for i, v in ipairs(o.yticks) do
      if v >= yl and v <= yh then
        t.vals[#t.vals + 1] = v
        t.labels[#t.labels + 1] = o.yticklabels and tostring(o.yticklabels[i]) or ticks.number(v)
      end
    end
  else
    local max_n = math.max(2, math.min(10, math.floor(ph / (style.text_height(F) * 2.2))))
    local vals, step = ticks.nice(yl, yh, max_n)
    t.vals = vals
    for i, v in ipairs(vals) do t.labels[i] = ticks.format(v, step) end
  end
  for _, l in ipairs(t.labels) do t.width = math.max(t.width, style.text_width(l, F)) end
  return t
end

-- x ticks for a plot of width pw: {vals, labels, height, rotated, every}.
local function x_ticks(p, xl, xh, pw)
  local o, F = p.opts, style.font.tick
  local th = style.text_height(F)
  local t = {vals = {}, labels = {}, height = 0, every = 1}
  if o.ticks == false or o.xticks == false then return t end
  local per_unit = pw / (xh - xl)
  local cvals, clabels = categories(p)
  if cvals or o.xticks then
    cvals = cvals or o.xticks
    for i, v in ipairs(cvals) do
      if v >= xl and v <= xh then
        t.vals[#t.vals + 1] = v
        t.labels[#t.labels + 1] = clabels and clabels[i] or ticks.number(v)
      end
    end
    local maxw, gap = 0, math.huge
    for i, l in ipairs(t.labels) do
      maxw = math.max(maxw, style.text_width(l, F))
      if i > 1 then gap = math.min(gap, (t.vals[i] - t.vals[i - 1]) * per_unit) end
    end
    if maxw + 6 > gap then -- rotate by 45 degrees; thin out if even that collides
      t.rotated = true
      t.every = math.max(1, math.ceil((th * 1.5) / gap))
      t.height = (maxw + th) * math.sqrt(0.5)
    else
      t.height = th
    end
    return t
  end
  for _, c in ipairs(ticks.candidates(xl, xh, math.max(2, math.min(12, math.floor(pw / 30))))) do
    local labels, fits = {}, true
    for i, v in ipairs(c.vals) do labels[i] = ticks.format(v, c.step) end
    for i = 2, #c.vals do
      local need = (style.text_width(labels[i - 1], F) + style.text_width(labels[i], F)) / 2 + 10
      if (c.vals[i] - c.vals[i - 1]) * per_unit < need then fits = false break end
    end
    if fits or #c.vals <= 2 then
      t.vals, t.labels, t.height = c.vals, labels, th
      return t
    end
  end
  return t
end

local function draw_series(cv, s, xf, xl, xh, yl)
  if s.type == "line" then
    style.set_color(cv, s.color, s.alpha)
    cv:line_style(s.width, s.dash)
    cv:polyline(s.x, s.y, xf)
    cv:line_style(1)
    if s.marker then cv:markers(s.x, s.y, xf, s.marker, s.marker_size, nil, s.alpha, 0) end
  elseif s.type == "markers" or s.type == "scatter" then
    style.set_color(cv, s.color or {0, 0, 0})
    cv:markers(s.x, s.y, xf, s.shape or "o", s.size, s.colors, s.alpha, s.edge)
    if s.thumbnails then
      local im = s.thumbnails
      if im:dtype() == "uint8" then im = im:float() / 255 end
      cv:thumbnails(im, s.x, s.y, xf, s.thumb_size, s.colors, not s.thumb_overlap)
    end
  elseif s.type == "bar" then
    style.set_color(cv, s.color)
    local v = s.y:totable()
    local base = math.max(yl, 0) * xf[3] + xf[4]
    for i = 1, #v do
      if v[i] == v[i] then
        local x0 = xf[2] + xf[1] * (i - s.width / 2)
        local y1 = xf[4] + xf[3] * v[i]
        cv:rect(x0, math.min(base, y1), xf[1] * s.width, math.abs(y1 - base), true)
      end
    end
  end
end

local function draw_value_labels(cv, s, xf)
  if s.type ~= "bar" or not s.value_labels then return end
  local F = style.font.tick
  style.set_color(cv, style.text_color)
  for i, v in ipairs(s.y:totable()) do
    if v == v then
      local px, py = xf[2] + xf[1] * i, xf[4] + xf[3] * v
      cv:text(ticks.number(v, s.fmt), px, py + (v >= 0 and -2 or 2), F, false, 0.5,
              v >= 0 and "bottom" or "top")
    end
  end
end

-- Sampled data points of p in canvas coordinates (for placing a legend where data is not).
local function sample_points(p, xf)
  local pts = {}
  for _, s in ipairs(p.series) do
    local n = s.x:numel()
    local step = math.max(1, n // 300)
    local idx = loupe.arange(1, n + 1, step)
    local xs, ys = s.x:index_select(1, idx):totable(), s.y:index_select(1, idx):totable()
    for i = 1, #xs do pts[#pts + 1] = {xf[2] + xf[1] * xs[i], xf[4] + xf[3] * ys[i]} end
    if s.type == "bar" then
      for i, v in ipairs(s.y:totable()) do
        for f = 0, 1, 0.25 do pts[#pts + 1] = {xf[2] + xf[1] * i, xf[4] + xf[3] * v * f} end
      end
    end
  end
  return pts
end

local CORNERS = {"upper right", "upper left", "lower left", "lower right"}

local function legend_corner(where, left, top, pw, ph, lw, lh)
  local inset = 6
  local x = where:find("left") and left + inset or left + pw - lw - inset
  local y = where:find("upper") and top + inset or top + ph - lh - inset
  return x, y
end

local function best_corner(p, xf, left, top, pw, ph, lw, lh)
  local pts = sample_points(p, xf)
  local best, best_n
  for _, c in ipairs(CORNERS) do
    local x, y = legend_corner(c, left, top, pw, ph, lw, lh)
    local n = 0
    for _, q in ipairs(pts) do
      if q[1] >= x and q[1] <= x + lw and q[2] >= y and q[2] <= y + lh then n = n + 1 end
    end
    if not best_n or n < best_n then best, best_n = c, n end
  end
  return best
end

function M.draw(p, cv, X, Y, W, H)
  local o, F = p.opts, style.font
  local pad, tl = style.pad, style.tick_len
  local th = style.text_height(F.tick)
  local xl, xh, yl, yh = limits(p)

  local entries = legend.entries(p)
  local where = #entries > 0 and (o.legend == nil and "best" or o.legend) or false
  local title_h = o.title and style.text_height(F.title) + 2 * pad or 0
  local top = Y + math.max(title_h, th / 2 + 2)
  local ylabel_w = o.ylabel and style.text_height(F.label) + pad or 0
  local xlabel_h = o.xlabel and style.text_height(F.label) + pad or 0
  local right = pad
  local leg_w = 0
  if where == "outside" then
    leg_w = legend.size(entries, H - (top - Y))
    right = leg_w + 2 * pad
  end

  local bottom_h, yt, xt, left, pw, ph = th + tl + pad + xlabel_h
  local min_left = X
  for _ = 1, 2 do
    ph = math.max(10, Y + H - bottom_h - top)
    yt = y_ticks(p, yl, yh, ph)
    left = math.max(min_left, X + ylabel_w + (yt.width > 0 and yt.width + pad + tl or 0) + 1)
    pw = math.max(10, X + W - right - left)
    xt = x_ticks(p, xl, xh, pw)
    -- room for half of the last x label beyond the plot's right edge
    local last = xt.labels[#xt.labels]
    if last and not xt.rotated then
      local over = style.text_width(last, F.tick) / 2
        - (xh - xt.vals[#xt.vals]) * pw / (xh - xl) - right + pad
      if over > 0 then pw = pw - over end
    end
    bottom_h = (xt.height > 0 and xt.height + tl + pad or 0) + xlabel_h + 2
    if xt.rotated and xt.labels[1] then -- the first slanted label must not leave the cell
      local reach = style.text_width(xt.labels[1], F.tick) * math.sqrt(0.5)
      min_left = X + ylabel_w + math.max(0, reach - (xt.vals[1] - xl) * pw / (xh - xl))
    end
  end

  local sx, sy = pw / (xh - xl), -ph / (yh - yl)
  local xf = {sx, left - xl * sx, sy, top - yh * sy}
  local function px(v) return xf[2] + xf[1] * v end
  local function py(v) return xf[4] + xf[3] * v end

  -- grid and zero line behind the data
  if o.grid then
    style.set_color(cv, style.grid_color)
    cv:line_style(1)
    for _, v in ipairs(yt.vals) do cv:line(left, snap(py(v)), left + pw, snap(py(v))) end
    for _, v in ipairs(xt.vals) do cv:line(snap(px(v)), top, snap(px(v)), top + ph) end
  end
  if o.zero_line and yl < 0 and yh > 0 then
    style.set_color(cv, style.zero_color)
    cv:line_style(1)
    cv:line(left, snap(py(0)), left + pw, snap(py(0)))
  end

  cv:clip(left, top, pw, ph)
  for _, s in ipairs(p.series) do draw_series(cv, s, xf, xl, xh, yl) end
  cv:unclip()
  for _, s in ipairs(p.series) do draw_value_labels(cv, s, xf) end

  -- frame, ticks, tick labels
  style.set_color(cv, style.axis_color)
  cv:line_style(1)
  local x0, y0 = snap(left), snap(top)
  local x1, y1 = snap(left + pw) - 1, snap(top + ph) - 1
  cv:rect(x0, y0, x1 - x0, y1 - y0)
  local label_x = x0 - tl - pad
  local ypos = {}
  for i, v in ipairs(yt.vals) do ypos[i] = py(v) end
  local lpos = ypos
  if yt.explicit then lpos = ticks.spread(ypos, th + 1, top - th / 2, top + ph + th / 2) end
  for i, v in ipairs(yt.vals) do
    local yy = snap(py(v))
    style.set_color(cv, style.axis_color)
    cv:line(x0 - tl, yy, x0, yy)
    if math.abs(lpos[i] - ypos[i]) > 1 then -- label moved off its tick: a short leader
      cv:line_style(0.75)
      cv:line(x0 - tl, yy, label_x + 1, lpos[i])
      cv:line_style(1)
    end
    style.set_color(cv, style.text_color)
    cv:text(yt.labels[i], label_x, lpos[i], F.tick, false, 1, "middle")
  end
  for i, v in ipairs(xt.vals) do
    local xx = snap(px(v))
    style.set_color(cv, style.axis_color)
    cv:line(xx, y1, xx, y1 + tl)
    if (i - 1) % xt.every == 0 then
      style.set_color(cv, style.text_color)
      if xt.rotated then
        cv:text(xt.labels[i], xx + th * 0.35, y1 + tl + pad, F.tick, false, 1, "top", 45)
      else
        cv:text(xt.labels[i], xx, y1 + tl + pad, F.tick, false, 0.5, "top")
      end
    end
  end

  -- labels and title
  style.set_color(cv, style.text_color)
  if o.xlabel then
    local yy = y1 + (xt.height > 0 and tl + pad + xt.height or 0) + pad
    cv:text(style.fit_text(tostring(o.xlabel), F.label, pw), left + pw / 2, yy, F.label, false,
            0.5, "top")
  end
  if o.ylabel then
    cv:text(style.fit_text(tostring(o.ylabel), F.label, ph), X, top + ph / 2, F.label, false, 0.5,
            "top", 90)
  end
  if o.title then
    local t = style.fit_text(tostring(o.title), F.title, W)
    local half = style.text_width(t, F.title) / 2
    local cx = math.max(X + half, math.min(X + W - half, left + pw / 2))
    cv:text(t, cx, Y + pad / 2, F.title, false, 0.5, "top")
  end

  if where then
    local lw, lh = legend.size(entries, ph)
    local lx, ly
    if where == "outside" then
      lx, ly = left + pw + 2 * pad, top
    else
      if where == "best" then where = best_corner(p, xf, left, top, pw, ph, lw, lh) end
      lx, ly = legend_corner(where, left, top, pw, ph, lw, lh)
    end
    legend.draw(cv, entries, lx, ly, where == "outside" and H - (top - Y) or ph, where ~= "outside")
  end
end

return M
