-- class.lua — a minimal single-inheritance class helper (torch7 style).
--
--   local Linear = class("Linear", Module)
--   function Linear:__init(a, b) Module.__init(self) ... end
--   local m = Linear(3, 4)           -- calls Linear.__init on a fresh instance
--   class.is_instance(m, Module)     -- true
--
-- An instance's metatable is its class. Lua looks metamethods up with rawget, so the ones a
-- parent defines (__index, __newindex, __call, __tostring, __len, ...) are copied into each
-- subclass when it is created; methods are found through the class chain. A class that wants
-- method lookup to go through a custom __index (as nn.Module does) sets it on the base class
-- before any subclass exists.
local class = {}

local NOT_INHERITED = {__init = true, __name = true}

local function new(cls, ...)
  local obj = setmetatable({}, cls)
  obj:__init(...)
  return obj
end

setmetatable(class, {__call = function(_, name, parent)
  local cls = {__name = name, super = parent}
  if parent then
    for k, v in pairs(parent) do
      if type(k) == "string" and k:sub(1, 2) == "__" and not NOT_INHERITED[k] then cls[k] = v end
    end
  end
  -- a plain class looks methods up in itself; a custom __index function is inherited as is
  if cls.__index == nil or cls.__index == parent then cls.__index = cls end
  if cls.__init == nil and parent == nil then cls.__init = function() end end
  return setmetatable(cls, {__index = parent, __call = new})
end})

-- True if v is an instance of cls or of one of its subclasses.
function class.is_instance(v, cls)
  if type(v) ~= "table" then return false end
  local c = getmetatable(v)
  while type(c) == "table" do
    if c == cls then return true end
    c = rawget(c, "super")
  end
  return false
end

-- The class name of an instance ("Conv2d"), or nil for anything else.
function class.name_of(v)
  local c = type(v) == "table" and getmetatable(v)
  return type(c) == "table" and rawget(c, "__name") or nil
end

return class
