-- embedding.lua — plot.embedding: a 2-D embedding (t-SNE, PCA) as a scatter plot coloured by
-- class, with a legend of class names and optionally the images themselves as thumbnails at
-- their points (a thumbnail is left out where it would cover one already drawn).
--
--   plot.embedding(xy [N,2] [, labels [N] (class numbers from 1)] [, {classes = {names},
--                  thumbnails = [N,C,H,W] or [N,H,W] (float in [0,1] or uint8), thumb_size = 24,
--                  thumb_overlap = false, size, alpha, title, width = 760, height = 600,
--                  ticks = false}]) -> figure
--
-- Embedding coordinates carry no units, so there are no tick labels unless ticks = true.
local loupe = require "loupe"
local style = require "loupe.plot.style"
local figure = require("loupe.plot.figure").new

local WHO = "plot.embedding"

return function(xy, labels, opts)
  if type(labels) == "table" and not loupe.is_tensor(labels) and labels[1] == nil then
    labels, opts = nil, labels
  end
  opts = style.check_options(opts, WHO, {"classes", "thumbnails", "thumb_size", "thumb_overlap",
                                         "size", "alpha", "title", "width", "height", "ticks"})
  local fig = figure{width = opts.width or 760, height = opts.height or 600}
  local ok, err = pcall(function()
    fig:panel(1, 1):scatter(xy, labels, {classes = opts.classes, thumbnails = opts.thumbnails,
                                         thumb_size = opts.thumb_size,
                                         thumb_overlap = opts.thumb_overlap, size = opts.size,
                                         alpha = opts.alpha, title = opts.title,
                                         ticks = opts.ticks == true})
  end)
  if not ok then error((tostring(err):gsub("^.-plot%.scatter: ", WHO .. ": ")), 2) end
  return fig
end
