-- Dropout.lua — nn.Dropout(p = 0.5): in training mode zeroes each element with probability
-- p (loupe's seeded generator) and scales the others by 1/(1-p); the identity in eval mode.
-- {inplace = true} is accepted for the repr and computed out of place (see activation.lua).
local class = require "loupe.class"
local Module = require "loupe.nn.Module"
local args = require "loupe.nn.args"
local repr = require "loupe.nn.repr"

local Dropout = class("Dropout", Module)

function Dropout:__init(p, opts)
  Module.__init(self)
  opts = args.options(opts, {"inplace"}, "Dropout")
  p = p or 0.5
  if type(p) ~= "number" or p < 0 or p > 1 then
    error(("Dropout: probability has to be between 0 and 1, but got %s"):format(tostring(p)), 0)
  end
  self.p = p
  self.inplace = opts.inplace == true
end

function Dropout:forward(x)
  return args.functional("dropout")(x, self.p, self.training)
end

function Dropout:extra_repr()
  return repr.kwargs({{"p", self.p}, {"inplace", self.inplace}})
end

return Dropout
