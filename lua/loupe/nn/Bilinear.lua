-- Bilinear.lua — nn.Bilinear(d_in, d_out, {bias = false}), the bilinear MLP layer of
-- ../shared/peers/BILINEAR_SPEC.md (section 1): one weight W [2*d_out, d_in] and optional
-- bias b [2*d_out], initialised exactly as Linear(d_in, 2*d_out); the left map is the first
-- d_out rows, the right map the last d_out rows, and
--   y = (x W_l^T + b_l) * (x W_r^T + b_r)        (elementwise, no activation)
-- Not torch.nn.Bilinear (which holds a 3-D weight): this is the paper's layer.
local class = require "loupe.class"
local Module = require "loupe.nn.Module"
local init = require "loupe.nn.weight_init"
local args = require "loupe.nn.args"
local repr = require "loupe.nn.repr"

local Bilinear = class("Bilinear", Module)

function Bilinear:__init(in_features, out_features, opts)
  Module.__init(self)
  opts = args.options(opts, {"bias"}, "Bilinear")
  self.in_features = args.int(in_features, "in_features", "Bilinear")
  self.out_features = args.int(out_features, "out_features", "Bilinear")
  self:register_parameter("weight", init.parameter({2 * out_features, in_features}))
  self:register_parameter("bias", opts.bias and init.parameter({2 * out_features}) or nil)
  init.default_layer_(self.weight, self.bias)
end

function Bilinear:forward(x)
  return args.functional("bilinear")(x, self.weight, self.bias)
end

-- W_l and W_r [d_out, d_in]: views of the weight's two halves (share its memory).
function Bilinear:left_weight() return self.weight:narrow(1, 1, self.out_features) end
function Bilinear:right_weight() return self.weight:narrow(1, self.out_features + 1, self.out_features) end

function Bilinear:extra_repr()
  return repr.kwargs({{"in_features", self.in_features}, {"out_features", self.out_features},
                      {"bias", self.bias ~= nil}})
end

return Bilinear
