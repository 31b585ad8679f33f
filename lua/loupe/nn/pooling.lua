-- pooling.lua — nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d over
-- [N, C, H, W] (a [C, H, W] image is treated as a batch of one).
--
--   nn.MaxPool2d(k, {stride = k, padding = 0, dilation = 1, ceil_mode = false})
--   nn.AvgPool2d(k, {stride = k, padding = 0, ceil_mode = false, count_include_pad = true})
--   nn.AdaptiveAvgPool2d(size), nn.AdaptiveMaxPool2d(size)     -- size: n or {h, w}
--
-- Sizes are kept as given (a number or a pair) because PyTorch's repr prints them so
-- (`MaxPool2d(kernel_size=3, stride=2, ...)`, `AdaptiveAvgPool2d(output_size=(1, 1))`).
local class = require "loupe.class"
local Module = require "loupe.nn.Module"
local args = require "loupe.nn.args"
local repr = require "loupe.nn.repr"

-- Runs fn on x, treating a 3-D input as a batch of one.
local function batched(fn, x, ...)
  if x:dim() == 3 then return fn(x:unsqueeze(1), ...):squeeze(1) end
  return fn(x, ...)
end

local MaxPool2d = class("MaxPool2d", Module)

function MaxPool2d:__init(kernel_size, opts)
  Module.__init(self)
  opts = args.options(opts, {"stride", "padding", "dilation", "ceil_mode"}, "MaxPool2d")
  args.pair(kernel_size, "kernel_size", "MaxPool2d", 1)
  self.kernel_size = kernel_size
  self.stride = opts.stride or kernel_size
  self.padding = opts.padding or 0
  self.dilation = opts.dilation or 1
  self.ceil_mode = opts.ceil_mode == true
  args.pair(self.stride, "stride", "MaxPool2d", 1)
  args.pair(self.padding, "padding", "MaxPool2d", 0)
  args.pair(self.dilation, "dilation", "MaxPool2d", 1)
end

function MaxPool2d:forward(x)
  return batched(args.functional("max_pool2d"), x, self.kernel_size, {stride = self.stride,
    padding = self.padding, dilation = self.dilation, ceil_mode = self.ceil_mode})
end

function MaxPool2d:extra_repr()
  return repr.kwargs({{"kernel_size", self.kernel_size}, {"stride", self.stride},
    {"padding", self.padding}, {"dilation", self.dilation}, {"ceil_mode", self.ceil_mode}})
end

local AvgPool2d = class("AvgPool2d", Module)

function AvgPool2d:__init(kernel_size, opts)
  Module.__init(self)
  opts = args.options(opts, {"stride", "padding", "ceil_mode", "count_include_pad"}, "AvgPool2d")
  args.pair(kernel_size, "kernel_size", "AvgPool2d", 1)
  self.kernel_size = kernel_size
  self.stride = opts.stride or kernel_size
  self.padding = opts.padding or 0
  self.ceil_mode = opts.ceil_mode == true
  self.count_include_pad = opts.count_include_pad ~= false
  args.pair(self.stride, "stride", "AvgPool2d", 1)
  args.pair(self.padding, "padding", "AvgPool2d", 0)
end

function AvgPool2d:forward(x)
  return batched(args.functional("avg_pool2d"), x, self.kernel_size, {stride = self.stride,
    padding = self.padding, ceil_mode = self.ceil_mode, count_include_pad = self.count_include_pad})
end

function AvgPool2d:extra_repr()
  return repr.kwargs({{"kernel_size", self.kernel_size}, {"stride", self.stride},
    {"padding", self.padding}})
end

-- The two adaptive pools differ only in their class name and functional.
local function adaptive(name, fn_name)
  local cls = class(name, Module)
  function cls:__init(output_size)
    Module.__init(self)
    args.pair(output_size, "output_size", name, 1)
    self.output_size = output_size
  end
  function cls:forward(x)
    return batched(args.functional(fn_name), x, self.output_size)
  end
  function cls:extra_repr()
    return "output_size=" .. repr.value(self.output_size)
  end
  return cls
end

return {
  MaxPool2d = MaxPool2d,
  AvgPool2d = AvgPool2d,
  AdaptiveAvgPool2d = adaptive("AdaptiveAvgPool2d", "adaptive_avg_pool2d"),
  AdaptiveMaxPool2d = adaptive("AdaptiveMaxPool2d", "adaptive_max_pool2d"),
}
