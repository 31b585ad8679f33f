-- loupe.plot — figures from tensors: a grid of panels (images, heatmaps, lines, markers,
-- scatter plots with thumbnails, bars, tables of numbers) drawn with cairo into PNG, SVG or
-- PDF, and the composite figures the experiments use. Loaded lazily as loupe.plot.
--
--   local plot = loupe.plot
--   local fig = plot.figure{width = 640, height = 400, rows = 1, cols = 2, title = "..."}
--   fig:panel(1, 1):line(x, y, {label = "train"}):set{xlabel = "epoch", ylabel = "loss"}
--   fig:panel(1, 2):imshow(w, {cmap = "RdBu", colorbar = true})
--   fig:save("out/fig.png")                   -- or .svg / .pdf; {scale = 2} for more pixels
--
-- Files: figure.lua (the page and its grid), panel.lua (what a panel shows and its options),
-- axes.lua and raster.lua (drawing x-y and image panels), legend.lua, ticks.lua, style.lua
-- (sizes, colours), and one file per composite: eigenspectrum.lua, facets.lua,
-- embedding.lua, curve.lua, history.lua. The drawing primitives are C (loupe._plot, src/plot/).
local M = {}

M.figure = require("loupe.plot.figure").new

local COMPOSITES = {eigenspectrum = true, facets = true, embedding = true, curve = true,
                    history = true}

return setmetatable(M, {__index = function(t, k)
  if COMPOSITES[k] then
    local f = require("loupe.plot." .. k)
    rawset(t, k, f)
    return f
  end
end})
