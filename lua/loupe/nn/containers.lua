-- containers.lua — nn.Sequential and nn.ModuleList, the list containers.
--
-- Children are named "0", "1", ... exactly as in PyTorch, so torchvision state_dict keys
-- ("features.0.weight", "layer1.0.conv1.weight") load unchanged. Lua code indexes them
-- 1-based: seq[1] is the child named "0", #seq the number of children, and
-- `for i, m in ipairs(seq)` walks them in order. seq[i] = m replaces the i-th child.
--
--   nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
--   nn.Sequential{{"conv", nn.Conv2d(3, 8, 3)}, {"relu", nn.ReLU()}}   -- named children
--   nn.Sequential(table.unpack(resnet:children(), 1, 6))               -- = resnet:truncate(6)
local class = require "loupe.class"
local Module = require "loupe.nn.Module"

local function add_list(self, what, list, n)
  for i = 1, n do
    local m = list[i]
    if not Module.is_module(m) then
      error(("%s: argument %d is a %s, not a Module"):format(what, i, class.name_of(m) or type(m)), 0)
    end
    self:add_module(tostring(#self._modules.order), m)
  end
end

local Sequential = class("Sequential", Module)
Sequential._numeric_index = true

function Sequential:__init(...)
  Module.__init(self)
  local first = ...
  if select("#", ...) == 1 and type(first) == "table" and not Module.is_module(first) then
    for i, pair in ipairs(first) do
      if type(pair) ~= "table" or type(pair[1]) ~= "string" or not Module.is_module(pair[2]) then
        error(("Sequential: entry %d of the named form must be {name, module}"):format(i), 0)
      end
      self:add_module(pair[1], pair[2])
    end
  else
    add_list(self, "Sequential", {...}, select("#", ...))
  end
end

function Sequential:forward(x)
  local r = self._modules
  for _, name in ipairs(r.order) do x = r.vals[name](x) end
  return x
end

-- Appends m under the next number. Returns self.
function Sequential:append(m)
  add_list(self, "append", {m}, 1)
  return self
end

function Sequential.__len(self) return #self._modules.order end

local ModuleList = class("ModuleList", Module)
ModuleList._numeric_index = true

-- nn.ModuleList{m1, m2, ...}: holds modules (registered, so their parameters are found)
-- without defining a forward.
function ModuleList:__init(list)
  Module.__init(self)
  if list ~= nil then
    if type(list) ~= "table" or Module.is_module(list) then
      error("ModuleList: expected a list of modules", 0)
    end
    add_list(self, "ModuleList", list, #list)
  end
end

ModuleList.append = Sequential.append
ModuleList.__len = Sequential.__len

return {Sequential = Sequential, ModuleList = ModuleList}
