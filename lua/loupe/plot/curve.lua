-- curve.lua — plot.curve: training curves (several series against a shared x, with a legend),
-- on a light grid.
--
--   plot.curve([x,] y [, {labels = {names}, title, xlabel = "epoch", ylabel, ylim, width = 640,
--              height = 400, markers = false}]) -> figure
--
-- y: a tensor [N] (one series) or [S,N] (S series), or a list of series (tensors or lists of
-- numbers, lengths may differ). x: a tensor or list shared by all series (default 1..N).
local loupe = require "loupe"
local style = require "loupe.plot.style"
local figure = require("loupe.plot.figure").new

local WHO = "plot.curve"

local function series_of(y)
  if loupe.is_tensor(y) then
    if y:dim() == 1 then return {y} end
    if y:dim() == 2 then
      local out = {}
      for i = 1, y:size(1) do out[i] = y[i] end
      return out
    end
    error(WHO .. ": y must be [N] or [S,N], got " .. style.shape_str(y), 3)
  end
  if type(y) == "table" and #y > 0 then
    if type(y[1]) == "number" then return {y} end
    return y
  end
  error(WHO .. ": y must be a tensor or a list of series", 3)
end

return function(x, y, opts)
  if y == nil or (type(y) == "table" and not loupe.is_tensor(y) and y[1] == nil and next(y)) then
    x, y, opts = nil, x, y
  end
  opts = style.check_options(opts, WHO, {"labels", "title", "xlabel", "ylabel", "ylim", "width",
                                         "height", "markers"})
  local list = series_of(y)
  if opts.labels ~= nil and (type(opts.labels) ~= "table" or #opts.labels ~= #list) then
    error(("%s: labels must be a list of %d names"):format(WHO, #list), 2)
  end
  local fig = figure{width = opts.width or 640, height = opts.height or 400}
  local p = fig:panel(1, 1)
  for i, s in ipairs(list) do
    local ok, err = pcall(p.line, p, x, s, {label = opts.labels and opts.labels[i] or nil,
                                           marker = opts.markers and "o" or nil, marker_size = 4})
    if not ok then error((tostring(err):gsub("^.-plot%.line: ", WHO .. ": ")), 2) end
  end
  p:set{title = opts.title, xlabel = opts.xlabel or "epoch", ylabel = opts.ylabel, ylim = opts.ylim,
        grid = true}
  return fig
end
