-- Linear.lua — nn.Linear(in_features, out_features, {bias = true}): y = x W^T + b over the
-- last dimension, W [out, in]. PyTorch's default initialisation (weight and bias
-- U(-1/sqrt(in), 1/sqrt(in))) from loupe's seeded generator.
local class = require "loupe.class"
local Module = require "loupe.nn.Module"
local init = require "loupe.nn.weight_init"
local args = require "loupe.nn.args"
local repr = require "loupe.nn.repr"

local Linear = class("Linear", Module)

function Linear:__init(in_features, out_features, opts)
  Module.__init(self)
  opts = args.options(opts, {"bias"}, "Linear")
  self.in_features = args.int(in_features, "in_features", "Linear")
  self.out_features = args.int(out_features, "out_features", "Linear")
  self:register_parameter("weight", init.parameter({out_features, in_features}))
  self:register_parameter("bias", opts.bias ~= false and init.parameter({out_features}) or nil)
  init.default_layer_(self.weight, self.bias)
end

function Linear:forward(x)
  return args.functional("linear")(x, self.weight, self.bias)
end

function Linear:extra_repr()
  return repr.kwargs({{"in_features", self.in_features}, {"out_features", self.out_features},
                      {"bias", self.bias ~= nil}})
end

return Linear
