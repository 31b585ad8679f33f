-- Conv2d.lua — nn.Conv2d(in_channels, out_channels, kernel_size,
--   {stride = 1, padding = 0, dilation = 1, groups = 1, bias = true})
-- over [N, C, H, W] (a [C, H, W] image is treated as a batch of one, as PyTorch does).
-- Sizes are numbers or {h, w} pairs and are kept as pairs (PyTorch's repr shows
-- `kernel_size=(3, 3)`). Weight [out, in/groups, kh, kw]; PyTorch's default initialisation.
local class = require "loupe.class"
local Module = require "loupe.nn.Module"
local init = require "loupe.nn.weight_init"
local args = require "loupe.nn.args"
local repr = require "loupe.nn.repr"

local Conv2d = class("Conv2d", Module)

function Conv2d:__init(in_channels, out_channels, kernel_size, opts)
  Module.__init(self)
  opts = args.options(opts, {"stride", "padding", "dilation", "groups", "bias"}, "Conv2d")
  self.in_channels = args.int(in_channels, "in_channels", "Conv2d")
  self.out_channels = args.int(out_channels, "out_channels", "Conv2d")
  self.kernel_size = args.pair(kernel_size, "kernel_size", "Conv2d", 1)
  self.stride = args.pair(opts.stride or 1, "stride", "Conv2d", 1)
  self.padding = args.pair(opts.padding or 0, "padding", "Conv2d", 0)
  self.dilation = args.pair(opts.dilation or 1, "dilation", "Conv2d", 1)
  self.groups = args.int(opts.groups or 1, "groups", "Conv2d")
  if in_channels % self.groups ~= 0 or out_channels % self.groups ~= 0 then
    error(("Conv2d: in_channels (%d) and out_channels (%d) must be divisible by groups (%d)"):format(
      in_channels, out_channels, self.groups), 0)
  end
  local k = self.kernel_size
  self:register_parameter("weight",
    init.parameter({out_channels, in_channels // self.groups, k[1], k[2]}))
  self:register_parameter("bias", opts.bias ~= false and init.parameter({out_channels}) or nil)
  init.default_layer_(self.weight, self.bias)
end

function Conv2d:forward(x)
  local conv2d = args.functional("conv2d")
  local o = {stride = self.stride, padding = self.padding, dilation = self.dilation,
             groups = self.groups}
  if x:dim() == 3 then
    return conv2d(x:unsqueeze(1), self.weight, self.bias, o):squeeze(1)
  end
  return conv2d(x, self.weight, self.bias, o)
end

function Conv2d:extra_repr()
  local s = ("%d, %d, kernel_size=%s, stride=%s"):format(self.in_channels, self.out_channels,
    repr.value(self.kernel_size), repr.value(self.stride))
  if self.padding[1] ~= 0 or self.padding[2] ~= 0 then s = s .. ", padding=" .. repr.value(self.padding) end
  if self.dilation[1] ~= 1 or self.dilation[2] ~= 1 then
    s = s .. ", dilation=" .. repr.value(self.dilation)
  end
  if self.groups ~= 1 then s = s .. ", groups=" .. self.groups end
  if self.bias == nil then s = s .. ", bias=False" end
  return s
end

return Conv2d
