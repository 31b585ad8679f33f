-- eigenspectrum.lua — plot.eigenspectrum: the bilinear-MLP eigendecomposition figure of the
-- seed (peers/BILINEAR_SPEC.md §8) for one class.
--
--   plot.eigenspectrum(vals, vecs [, {shape = {28, 28}, k = 3, n_vals = 20, title, width,
--                      height}]) -> figure
--
-- vals: the H eigenvalues in ascending order, as eigh returns them; vecs: [H, D], row i the
-- eigenvector of vals[i] projected to input space (D = prod(shape)). Two rows, k + 1 columns:
-- left, the n_vals + 2 largest eigenvalues in descending order (top row) and the n_vals + 2
-- most negative in ascending order (bottom row), as line + markers, the k shown components
-- marked and their values as the y tick labels; then the eigenvectors of the k largest (top
-- row, largest first) and k most negative (bottom row, most negative first) eigenvalues as
-- heatmaps, RdBu centred at 0, each on its own symmetric scale (plotly's zmid = 0; red
-- negative, blue positive). shape = {3, h, w} shows colour eigenvectors as RGB images,
-- 0.5 + 0.5 v / max|v|. The seed drew plotly heatmaps with a bottom-up y axis and flipped the
-- images to compensate; here rows go top-down, so images are drawn as stored. The default size,
-- (200 (k + 1) + 40) x 390, is a little larger than the seed's 170 (k + 1) x 300 so that 10-px
-- tick labels fit beside the spectra.
local loupe = require "loupe"
local style = require "loupe.plot.style"
local ticks = require "loupe.plot.ticks"
local figure = require("loupe.plot.figure").new

local WHO = "plot.eigenspectrum"

local function heatmap(p, v, shape, title)
  if #shape == 3 then
    local m = v:abs():max():item()
    local img = v:view(shape)
    if m > 0 then img = img / m * 0.5 + 0.5 else img = img + 0.5 end
    p:imshow(img, {title = title})
  else
    p:imshow(v:view(shape), {cmap = "RdBu", zmid = 0, title = title})
  end
end

local function spectrum(p, vals, k, color, title)
  local n = vals:numel()
  local chosen = vals:narrow(1, 1, k)
  local values, labels = chosen:totable(), {}
  for i, v in ipairs(values) do labels[i] = ticks.number(v) end
  p:line(loupe.arange(1, n + 1):float(), vals, {color = {0.55, 0.55, 0.55}, width = 1.25,
                                                 marker = "o", marker_size = 3.5})
  p:markers(loupe.arange(1, k + 1):float(), chosen, {color = color, size = 7})
  p:set{title = title, yticks = values, yticklabels = labels, xlabel = "rank", legend = false}
end

local function ones(n)
  local t = {}
  for i = 1, n do t[i] = 1 end
  return t
end

return function(vals, vecs, opts)
  opts = style.check_options(opts, WHO, {"shape", "k", "n_vals", "title", "width", "height"})
  if not loupe.is_tensor(vals) or vals:dim() ~= 1 then
    error(WHO .. ": vals must be a 1-D tensor of eigenvalues, got " ..
      (loupe.is_tensor(vals) and style.shape_str(vals) or type(vals)), 2)
  end
  local H = vals:numel()
  if not loupe.is_tensor(vecs) or vecs:dim() ~= 2 or vecs:size(1) ~= H then
    error(("%s: vecs must be [%d,D] (one eigenvector per eigenvalue), got %s"):format(WHO, H,
      loupe.is_tensor(vecs) and style.shape_str(vecs) or type(vecs)), 2)
  end
  local D = vecs:size(2)
  local shape = opts.shape
  if shape == nil then
    local s = math.floor(math.sqrt(D) + 0.5)
    if s * s ~= D then error(("%s: give shape for vectors of %d values"):format(WHO, D), 2) end
    shape = {s, s}
  end
  local prod = 1
  for _, s in ipairs(shape) do prod = prod * s end
  if type(shape) ~= "table" or not (#shape == 2 or (#shape == 3 and shape[1] == 3))
      or prod ~= D then
    error(("%s: shape must be {h, w} or {3, h, w} with %d values"):format(WHO, D), 2)
  end
  local k = opts.k or 3
  local nv = opts.n_vals or 20
  if math.type(k) ~= "integer" or k < 1 or math.type(nv) ~= "integer" or nv < 1 then
    error(WHO .. ": k and n_vals must be positive integers", 2)
  end
  k = math.min(k, H)
  local v = vals:float()
  if H > 1 and v:narrow(1, 2, H - 1):lt(v:narrow(1, 1, H - 1)):float():sum():item() > 0 then
    error(WHO .. ": vals must be in ascending order (as eigh returns them)", 2)
  end
  local n = math.min(nv + 2, H) -- the seed shows eigenvalues + 2 of each end
  local desc = v:index_select(1, loupe.arange(H, H - n, -1))
  local asc = v:narrow(1, 1, n)

  local fig = figure{rows = 2, cols = k + 1, title = opts.title,
                     width = opts.width or 200 * (k + 1) + 40,
                     height = opts.height or (opts.title and 420 or 390), spacing = 14,
                     col_widths = {1.25, table.unpack(ones(k))}}
  spectrum(fig:panel(1, 1), desc, math.min(k, n), style.cycle[1], "top eigenvalues")
  spectrum(fig:panel(2, 1), asc, math.min(k, n), style.cycle[4], "bottom eigenvalues")
  local vf = vecs:float()
  for j = 1, k do
    local top, bot = H - j + 1, j
    heatmap(fig:panel(1, j + 1), vf[top], shape, "\u{03bb} = " .. ticks.number(v[top]:item()))
    heatmap(fig:panel(2, j + 1), vf[bot], shape, "\u{03bb} = " .. ticks.number(v[bot]:item()))
  end
  return fig
end
