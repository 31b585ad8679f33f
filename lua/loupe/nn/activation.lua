-- activation.lua — elementwise activation layers: nn.ReLU, nn.Sigmoid, nn.Tanh.
--
-- nn.ReLU({inplace = true}) is accepted and shown in the repr (torchvision builds its
-- networks with it) but always computes out of place: loupe's autograd refuses in-place
-- ops on tensors it needs, and an in-place ReLU would also overwrite activations a hook or
-- nn.capture has just recorded. Results are identical.
local class = require "loupe.class"
local Module = require "loupe.nn.Module"
local args = require "loupe.nn.args"

local ReLU = class("ReLU", Module)

function ReLU:__init(opts)
  Module.__init(self)
  opts = args.options(opts, {"inplace"}, "ReLU")
  self.inplace = opts.inplace == true
end

function ReLU:forward(x) return x:relu() end

function ReLU:extra_repr() return self.inplace and "inplace=True" or "" end

local Sigmoid = class("Sigmoid", Module)
function Sigmoid:forward(x) return x:sigmoid() end

local Tanh = class("Tanh", Module)
function Tanh:forward(x) return x:tanh() end

return {ReLU = ReLU, Sigmoid = Sigmoid, Tanh = Tanh}
