-- raster.lua — draws image panels into their cells: imshow (an image or heatmap, aspect kept,
-- optional colour bar) and heatmap_table (coloured cells with their numbers, row and column
-- labels: a confusion matrix). The pixels were coloured when the panel was made
-- (loupe.image.colormap); here they are only placed, so drawing is one image call.
local loupe = require "loupe"
local style = require "loupe.plot.style"
local ticks = require "loupe.plot.ticks"

local M = {}

local function snap(v) return math.floor(v) + 0.5 end

local BAR_W = 10

-- Width the colour bar of an imshow takes beside the image (bar, ticks and labels).
local function colorbar_width(img, h)
  if not img.colorbar then return 0, nil end
  local F = style.font.tick
  local max_n = math.max(2, math.min(8, math.floor(h / (style.text_height(F) * 2))))
  local vals, step = ticks.nice(img.lo, img.hi, max_n)
  local labels, w = {}, 0
  for i, v in ipairs(vals) do
    labels[i] = ticks.format(v, step)
    w = math.max(w, style.text_width(labels[i], F))
  end
  return 2 * style.pad + BAR_W + style.tick_len + style.pad + w, {vals = vals, labels = labels}
end

local function draw_colorbar(cv, img, t, x, y, h)
  local grad = loupe.linspace(img.hi, img.lo, 256):view(256, 1)
  local rgb = loupe.image.colormap(img.cmap, grad, {range = {img.lo, img.hi}})
  cv:image(rgb, x, y, BAR_W, h, true)
  style.set_color(cv, style.axis_color)
  cv:line_style(1)
  cv:rect(snap(x), snap(y), math.floor(BAR_W), math.floor(h))
  local F, tl = style.font.tick, style.tick_len
  for i, v in ipairs(t.vals) do
    local yy = img.hi > img.lo and y + (img.hi - v) / (img.hi - img.lo) * h or y + h / 2
    style.set_color(cv, style.axis_color)
    cv:line(x + BAR_W, snap(yy), x + BAR_W + tl, snap(yy))
    style.set_color(cv, style.text_color)
    cv:text(t.labels[i], x + BAR_W + tl + style.pad, yy, F, false, 0, "middle")
  end
end

function M.draw_image(p, cv, X, Y, W, H)
  local img, o, F, pad = p.image, p.opts, style.font, style.pad
  local title_h = o.title and style.text_height(F.title) + pad or 0
  local xlabel_h = o.xlabel and style.text_height(F.label) + pad or 0
  local ylabel_w = o.ylabel and style.text_height(F.label) + pad or 0
  local fw = img.frame and 2 or 0 -- the frame goes around the image, inside the cell
  local avail_h = math.max(4, H - title_h - xlabel_h - fw)
  local cb_w, cb_ticks = colorbar_width(img, avail_h)
  local avail_w = math.max(4, W - cb_w - ylabel_w - fw)
  local h, w = img.rgb:size(img.rgb:dim() - 1), img.rgb:size(img.rgb:dim())
  local dw, dh = avail_w, avail_h
  if img.aspect == "equal" then
    local s = math.min(avail_w / w, avail_h / h)
    dw, dh = w * s, h * s
  end
  -- the title, image and x label as one block, centred in the cell
  local x = X + ylabel_w + fw / 2 + (avail_w - dw) / 2
  local y = Y + title_h + fw / 2 + (avail_h - dh) / 2
  cv:image(img.rgb, x, y, dw, dh, dw < w) -- sharp pixels when enlarged, filtered when shrunk
  if img.frame then
    style.set_color(cv, style.frame_color)
    cv:line_style(1)
    cv:rect(snap(x) - 1, snap(y) - 1, math.floor(dw + 1), math.floor(dh + 1))
  end
  if cb_ticks then draw_colorbar(cv, img, cb_ticks, x + dw + 2 * pad, y, dh) end
  style.set_color(cv, style.text_color)
  if o.title then
    cv:text(style.fit_text(tostring(o.title), F.title, W), x + dw / 2, y - pad, F.title, false,
            0.5, "bottom")
  end
  if o.xlabel then
    cv:text(style.fit_text(tostring(o.xlabel), F.label, W), x + dw / 2, y + dh + pad, F.label,
            false, 0.5, "top")
  end
  if o.ylabel then
    cv:text(style.fit_text(tostring(o.ylabel), F.label, dh), x - ylabel_w, y + dh / 2, F.label,
            false, 0.5, "top", 90)
  end
end

local function cell_text(v, fmt)
  if v ~= v then return "nan" end
  if fmt == "%d" then return ticks.number(v, "%.0f") end
  return ticks.number(v, fmt)
end

function M.draw_table(p, cv, X, Y, W, H)
  local tb, o, F, pad = p.table, p.opts, style.font, style.pad
  local R, C = tb.values:size(1), tb.values:size(2)
  local th = style.text_height(F.tick)
  local title_h = o.title and style.text_height(F.title) + 2 * pad or 0
  local xlabel_h = o.xlabel and style.text_height(F.label) + pad or 0
  local ylabel_w = o.ylabel and style.text_height(F.label) + pad or 0
  local rl, cl = tb.row_labels, tb.col_labels
  local row_w, col_w = 0, 0
  for i = 1, R do row_w = math.max(row_w, rl and style.text_width(tostring(rl[i]), F.tick) or 0) end
  for j = 1, C do col_w = math.max(col_w, cl and style.text_width(tostring(cl[j]), F.tick) or 0) end
  local left_w = ylabel_w + (rl and row_w + pad or 0)
  -- square cells; column labels rotate when they are wider than a cell
  local function cell_for(col_h) -- (2 units for the frame)
    return math.min((W - left_w - 2) / C, (H - title_h - col_h - xlabel_h - 2) / R)
  end
  local col_h = cl and th + pad or 0
  local cell = cell_for(col_h)
  local rotated = cl and col_w + 4 > cell
  if rotated then
    col_h = (col_w + th) * math.sqrt(0.5) + pad
    cell = cell_for(col_h)
  end
  cell = math.max(cell, 1)
  local gw, gh = C * cell, R * cell
  local x = X + left_w + (W - left_w - gw) / 2
  local y = Y + title_h + 1 + (H - title_h - col_h - xlabel_h - 2 - gh) / 2
  cv:image(tb.rgb, x, y, gw, gh)
  style.set_color(cv, style.frame_color)
  cv:line_style(1)
  cv:rect(snap(x) - 1, snap(y) - 1, math.floor(gw + 1), math.floor(gh + 1))

  if tb.numbers then
    local vals = tb.values:totable()
    local rgb = tb.rgb:totable()
    local widest = 0
    for i = 1, R do
      for j = 1, C do widest = math.max(widest, #cell_text(vals[i][j], tb.fmt)) end
    end
    local size = math.min(F.cell, cell * 0.45)
    local probe = string.rep("0", widest)
    while size > 6 and style.text_width(probe, size) > cell * 0.9 do size = size - 0.5 end
    if size >= 6 and style.text_width(probe, size) <= cell * 0.95 then
      for i = 1, R do
        for j = 1, C do
          local lum = 0.299 * rgb[1][i][j] + 0.587 * rgb[2][i][j] + 0.114 * rgb[3][i][j]
          if lum < 0.5 then cv:color(1, 1, 1) else style.set_color(cv, style.text_color) end
          cv:text(cell_text(vals[i][j], tb.fmt), x + (j - 0.5) * cell, y + (i - 0.5) * cell, size,
                  false, 0.5, "middle")
        end
      end
    end
  end

  style.set_color(cv, style.text_color)
  local every_r = math.max(1, math.ceil(th / cell))
  if rl then
    for i = 1, R, every_r do
      cv:text(tostring(rl[i]), x - pad, y + (i - 0.5) * cell, F.tick, false, 1, "middle")
    end
  end
  if cl then
    local every_c = math.max(1, math.ceil((rotated and th * 1.2 or col_w + 4) / cell))
    for j = 1, C, every_c do
      local cx = x + (j - 0.5) * cell
      if rotated then
        cv:text(tostring(cl[j]), cx + th * 0.35, y + gh + pad, F.tick, false, 1, "top", 45)
      else
        cv:text(tostring(cl[j]), cx, y + gh + pad, F.tick, false, 0.5, "top")
      end
    end
  end
  if o.title then
    cv:text(style.fit_text(tostring(o.title), F.title, W), x + gw / 2, y - pad, F.title, false, 0.5,
            "bottom")
  end
  if o.xlabel then
    cv:text(style.fit_text(tostring(o.xlabel), F.label, W), x + gw / 2, y + gh + col_h + pad,
            F.label, false, 0.5, "top")
  end
  if o.ylabel then
    cv:text(style.fit_text(tostring(o.ylabel), F.label, gh), x - left_w, y + gh / 2, F.label,
            false, 0.5, "top", 90)
  end
end

return M
