-- Flatten.lua — the shape-only layers nn.Flatten and nn.Identity.
--
-- nn.Flatten(start_dim = 2, end_dim = -1) merges dimensions start_dim..end_dim, counted
-- 1-based as everywhere in loupe: the default keeps the batch dimension and flattens the
-- rest ([N, C, H, W] -> [N, C*H*W]), which is PyTorch's Flatten(start_dim=1). The repr
-- prints loupe's (1-based) values: `Flatten(start_dim=2, end_dim=-1)`.
local class = require "loupe.class"
local Module = require "loupe.nn.Module"

local Flatten = class("Flatten", Module)

function Flatten:__init(start_dim, end_dim)
  Module.__init(self)
  self.start_dim = start_dim or 2
  self.end_dim = end_dim or -1
  for _, d in ipairs({self.start_dim, self.end_dim}) do
    if math.type(d) ~= "integer" or d == 0 then
      error(("Flatten: dimensions are 1-based nonzero integers, got %s"):format(tostring(d)), 0)
    end
  end
end

function Flatten:forward(x) return x:flatten(self.start_dim, self.end_dim) end

function Flatten:extra_repr()
  return ("start_dim=%d, end_dim=%d"):format(self.start_dim, self.end_dim)
end

local Identity = class("Identity", Module)
function Identity:forward(x) return x end

return {Flatten = Flatten, Identity = Identity}
