-- legend.lua — legends for loupe.plot panels: the entries a panel's series ask for, their
-- size (one column, or several when they would not fit the height available), and drawing.
local loupe = require "loupe"
local style = require "loupe.plot.style"

local M = {}

local SWATCH, GAP, PAD = 18, 6, 6

-- The entries of panel p: labelled lines and markers, then the classes of labelled scatters.
function M.entries(p)
  local out = {}
  for _, s in ipairs(p.series) do
    if s.label ~= nil and (s.type == "line" or s.type == "markers" or s.type == "bar") then
      out[#out + 1] = {label = tostring(s.label), color = s.color, kind = s.type, dash = s.dash,
                       width = s.width, shape = s.marker or s.shape,
                       size = s.type == "line" and s.marker_size or math.min(s.size or 6, 8)}
    elseif s.type == "scatter" and s.n_classes then
      local k = s.n_classes
      local rgb = loupe.image.colormap(s.cmap, loupe.arange(1, k + 1):float()):t():totable()
      for i = 1, k do
        local name = s.classes and s.classes[i] or tostring(i)
        out[#out + 1] = {label = tostring(name), color = rgb[i], kind = "markers", shape = "o",
                         size = 7}
      end
    end
  end
  return out
end

local function row_height() return style.text_height(style.font.legend) * 1.3 end

-- Width and height of the legend box for `entries` given at most max_h of height.
function M.size(entries, max_h)
  if #entries == 0 then return 0, 0, 0 end
  local rh = row_height()
  local per_col = math.max(1, math.floor(((max_h or math.huge) - 2 * PAD) / rh))
  local cols = math.ceil(#entries / per_col)
  per_col = math.ceil(#entries / cols)
  local colw = 0
  for _, e in ipairs(entries) do
    colw = math.max(colw, style.text_width(e.label, style.font.legend))
  end
  colw = colw + SWATCH + GAP
  return cols * colw + (cols - 1) * 2 * GAP + 2 * PAD, per_col * rh + 2 * PAD, per_col
end

-- Draws the legend with its top-left corner at (x, y); boxed draws a white box with a light
-- border (for legends over the data).
function M.draw(cv, entries, x, y, max_h, boxed)
  local w, h, per_col = M.size(entries, max_h)
  if boxed then
    cv:color(1, 1, 1, 0.9)
    cv:rect(x, y, w, h, true)
    style.set_color(cv, style.frame_color)
    cv:line_style(1)
    cv:rect(math.floor(x) + 0.5, math.floor(y) + 0.5, math.floor(w), math.floor(h))
  end
  local rh = row_height()
  local colw = (w - 2 * PAD + 2 * GAP) / math.ceil(#entries / per_col)
  for i, e in ipairs(entries) do
    local col, row = (i - 1) // per_col, (i - 1) % per_col
    local ex, ey = x + PAD + col * colw, y + PAD + row * rh + rh / 2
    style.set_color(cv, e.color)
    if e.kind == "line" then
      cv:line_style(math.min(e.width or 2, 4), e.dash)
      cv:line(ex, ey, ex + SWATCH, ey)
      cv:line_style(1)
      if e.shape then
        local t = loupe.tensor{0}
        cv:markers(t, t, {1, ex + SWATCH / 2, 1, ey}, e.shape, e.size)
      end
    elseif e.kind == "bar" then
      cv:rect(ex + 3, ey - rh * 0.3, SWATCH - 6, rh * 0.6, true)
    else
      local t = loupe.tensor{0}
      cv:markers(t, t, {1, ex + SWATCH / 2, 1, ey}, e.shape or "o", e.size or 7)
    end
    style.set_color(cv, style.text_color)
    cv:text(e.label, ex + SWATCH + GAP, ey, style.font.legend, false, 0, "middle")
  end
  return w, h
end

return M
