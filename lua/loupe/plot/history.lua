-- history.lua — plot.history: the training curves of a loupe.train.fit history, loss on the
-- left and accuracy on the right, train and validation as two lines each.
--
--   plot.history(history [, {title, width = 880, height = 340}]) -> figure
--
-- history: fit's list of per-epoch records (train/loss, train/acc, val/loss, val/acc); a
-- quantity no record has is left out, and so is its panel.
local style = require "loupe.plot.style"
local figure = require("loupe.plot.figure").new

local WHO = "plot.history"

local PANELS = {{key = "loss", ylabel = "cross-entropy"}, {key = "acc", ylabel = "accuracy"}}
local SPLITS = {{prefix = "train/", label = "train"}, {prefix = "val/", label = "validation", dash = "--"}}

-- The series name's values over the epochs (nil where a record lacks it), or nil if none has it.
local function column(history, name)
  local xs, ys = {}, {}
  for _, rec in ipairs(history) do
    local v = rec[name]
    if type(v) == "number" then
      xs[#xs + 1] = rec.epoch or #xs + 1
      ys[#ys + 1] = v
    end
  end
  if #ys > 0 then return xs, ys end
end

return function(history, opts)
  opts = style.check_options(opts, WHO, {"title", "width", "height"})
  if type(history) ~= "table" or #history == 0 or type(history[1]) ~= "table" then
    error(WHO .. ": expected fit's history (a non-empty list of per-epoch records)", 2)
  end
  local shown = {}
  for _, panel in ipairs(PANELS) do
    local lines = {}
    for _, split in ipairs(SPLITS) do
      local xs, ys = column(history, split.prefix .. panel.key)
      if xs then lines[#lines + 1] = {x = xs, y = ys, split = split} end
    end
    if #lines > 0 then shown[#shown + 1] = {panel = panel, lines = lines} end
  end
  if #shown == 0 then error(WHO .. ": the history has no train/ or val/ loss or accuracy", 2) end
  local fig = figure{width = opts.width or 880, height = opts.height or 340, cols = #shown,
                     title = opts.title}
  for col, s in ipairs(shown) do
    local p = fig:panel(1, col)
    for _, l in ipairs(s.lines) do
      p:line(l.x, l.y, {label = l.split.label, dash = l.split.dash, marker = #l.x <= 12 and "o" or nil,
                        marker_size = 4})
    end
    p:set{xlabel = "epoch", ylabel = s.panel.ylabel, grid = true}
  end
  return fig
end
