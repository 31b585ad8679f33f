-- loss.lua — the losses as modules, over loupe.functional's C kernels, and nn.accuracy.
--
--   nn.CrossEntropyLoss({reduction = "mean", label_smoothing = 0, weight = nil})
--   nn.NLLLoss({reduction = "mean", weight = nil})        -- on log-probabilities
--   nn.MSELoss({reduction = "mean"})
--   nn.BCEWithLogitsLoss({reduction = "mean", pos_weight = nil})
--   loss = criterion(logits, target)
--
-- Class targets are int64 tensors of 1-based class labels, as everywhere in loupe.
-- reduction is "mean", "sum" or "none". A class weight (or pos_weight) is a buffer, as in
-- PyTorch, so it moves with the module's state_dict.
local loupe = require "loupe"
local class = require "loupe.class"
local Module = require "loupe.nn.Module"
local args = require "loupe.nn.args"

local REDUCTIONS = {mean = true, sum = true, none = true}

-- A loss class named `name` calling functional `fn_name`, with the given options and the
-- option that holds an optional tensor (registered as a buffer).
local function loss_class(name, fn_name, allowed, tensor_opt)
  local cls = class(name, Module)
  function cls:__init(opts)
    Module.__init(self)
    opts = args.options(opts, allowed, name)
    self.reduction = opts.reduction or "mean"
    if not REDUCTIONS[self.reduction] then
      error(("%s: reduction must be 'mean', 'sum' or 'none', got '%s'"):format(
        name, tostring(self.reduction)), 0)
    end
    self.label_smoothing = opts.label_smoothing
    if tensor_opt then
      local t = opts[tensor_opt]
      if t ~= nil and not loupe.is_tensor(t) then
        error(("%s: %s must be a tensor, got %s"):format(name, tensor_opt, type(t)), 0)
      end
      self:register_buffer(tensor_opt, t)
    end
  end
  function cls:forward(input, target)
    local o = {reduction = self.reduction, label_smoothing = self.label_smoothing}
    if tensor_opt then o[tensor_opt] = self[tensor_opt] end
    return args.functional(fn_name)(input, target, o)
  end
  return cls
end

local M = {
  CrossEntropyLoss = loss_class("CrossEntropyLoss", "cross_entropy",
    {"reduction", "label_smoothing", "weight"}, "weight"),
  NLLLoss = loss_class("NLLLoss", "nll_loss", {"reduction", "weight"}, "weight"),
  MSELoss = loss_class("MSELoss", "mse_loss", {"reduction"}),
  BCEWithLogitsLoss = loss_class("BCEWithLogitsLoss", "binary_cross_entropy_with_logits",
    {"reduction", "pos_weight"}, "pos_weight"),
}

-- Fraction of rows of logits [N, C] whose argmax equals target [N] (1-based labels), as a
-- Lua number.
function M.accuracy(logits, target)
  if not loupe.is_tensor(logits) or logits:dim() ~= 2 then
    error("accuracy: expected logits [N, C], got " ..
      (loupe.is_tensor(logits) and "[" .. table.concat(logits:shape(), ",") .. "]" or type(logits)), 2)
  end
  if not loupe.is_tensor(target) or target:dim() ~= 1 or target:size(1) ~= logits:size(1) then
    error(("accuracy: expected target [%d] of class labels, got %s"):format(logits:size(1),
      loupe.is_tensor(target) and "[" .. table.concat(target:shape(), ",") .. "]" or type(target)), 2)
  end
  if logits:size(1) == 0 then return 0 end
  return logits:argmax(2):eq(target:long()):float():mean():item()
end

return M
