-- facets.lua — plot.facets: a labelled grid of heatmaps, each scaled to [-1, 1] by its own
-- largest magnitude and shown with RdBu centred at 0 (as the seed's Figure 2 shows
-- eigenvectors of several classes side by side).
--
--   plot.facets(images [, {labels = {...}, cols, shape, cmap = "RdBu", title, size = 120,
--               normalize = true}]) -> figure
--
-- images: [N,H,W], [N,1,H,W], [N,3,H,W] (colour: shown as 0.5 + 0.5 v / max|v|), [N,D] with
-- shape = {h, w} (or {3, h, w}), or a Lua list of [H,W] / [C,H,W] tensors. cols defaults to
-- about a square grid; size is the width of one cell in pixels. normalize = false shows the
-- values as they are on one shared scale.
local loupe = require "loupe"
local style = require "loupe.plot.style"
local figure = require("loupe.plot.figure").new

local WHO = "plot.facets"

local function as_list(images, shape)
  if loupe.is_tensor(images) then
    local list = {}
    for i = 1, images:size(1) do list[i] = images[i] end
    images = list
  end
  if type(images) ~= "table" or #images == 0 then
    error(WHO .. ": images must be a non-empty tensor [N,...] or a list of tensors", 3)
  end
  local out = {}
  for i, t in ipairs(images) do
    if not loupe.is_tensor(t) then error(("%s: image %d is not a tensor"):format(WHO, i), 3) end
    if shape then
      local ok, v = pcall(t.reshape, t, shape)
      if not ok then
        error(("%s: image %d (%s) does not fit shape {%s}"):format(WHO, i, style.shape_str(t),
          table.concat(shape, ",")), 3)
      end
      t = v
    end
    if t:dim() == 3 and t:size(1) == 1 then t = t[1] end
    if not (t:dim() == 2 or (t:dim() == 3 and t:size(1) == 3)) then
      error(("%s: image %d must be [H,W], [1,H,W] or [3,H,W] (or give shape), got %s"):format(
        WHO, i, style.shape_str(t)), 3)
    end
    out[i] = t:float()
  end
  return out
end

return function(images, opts)
  opts = style.check_options(opts, WHO, {"labels", "cols", "shape", "cmap", "title", "size",
                                         "normalize"})
  local list = as_list(images, opts.shape)
  local n = #list
  if opts.labels ~= nil and (type(opts.labels) ~= "table" or #opts.labels ~= n) then
    error(("%s: labels must be a list of %d names"):format(WHO, n), 2)
  end
  local cols = opts.cols or math.ceil(math.sqrt(n))
  if math.type(cols) ~= "integer" or cols < 1 then
    error(WHO .. ": cols must be a positive integer", 2)
  end
  cols = math.min(cols, n)
  local rows = math.ceil(n / cols)
  local size = opts.size or 120
  local label_h = opts.labels and style.text_height(style.font.title) + style.pad or 0
  local h, w = list[1]:size(list[1]:dim() - 1), list[1]:size(list[1]:dim())
  local cell_h = (size - 2 * style.pad) * h / w + label_h + 2 * style.pad
  local title_h = opts.title and style.text_height(style.font.figure_title) + 2 * style.pad or 0
  local fig = figure{rows = rows, cols = cols, title = opts.title, spacing = 6,
                     width = cols * size + (cols - 1) * 6 + 2 * style.margin,
                     height = rows * cell_h + (rows - 1) * 6 + 2 * style.margin + title_h}
  local shared = 0
  if opts.normalize == false then
    for _, t in ipairs(list) do shared = math.max(shared, t:abs():max():item()) end
  end
  for i, t in ipairs(list) do
    local p = fig:panel((i - 1) // cols + 1, (i - 1) % cols + 1)
    local m = opts.normalize == false and shared or t:abs():max():item()
    local v = m > 0 and t / m or t
    local title = opts.labels and tostring(opts.labels[i]) or nil
    if v:dim() == 3 then
      p:imshow(v * 0.5 + 0.5, {title = title})
    else
      p:imshow(v, {cmap = opts.cmap or "RdBu", range = {-1, 1}, title = title})
    end
  end
  return fig
end
