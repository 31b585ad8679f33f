-- Module.lua — nn.Module, the base class of every layer, container and architecture.
--
-- A module keeps three ordered registries, as PyTorch does: parameters (leaf tensors that
-- require grad), buffers (running statistics) and child modules. Fields read and write
-- through them, so `model.fc = nn.Linear(512, 10)` registers (or replaces, in place) the
-- child "fc", `m.weight` returns the parameter, assigning a tensor (or nil) to a registered
-- parameter or buffer name replaces it, and assigning nil to a child removes it.
-- Anything else assigned to a field is a plain Lua field (`self.stride = {2, 2}`).
-- Method names win over registered names when reading, as in Python.
--
-- Listings (`named_parameters`, `named_buffers`, `named_children`, `named_modules`) return
-- Lua lists of {name, value} pairs in PyTorch's order (registration order, depth first,
-- each module's own entries before its children's), without duplicates:
--
--   for _, np in ipairs(model:named_parameters()) do print(np[1], np[2]:shape()) end
--
-- Calling a module, `m(x)`, runs `m:forward(x)` and then its forward hooks.
local loupe = require "loupe"
local class = require "loupe.class"
local repr = require "loupe.nn.repr"

local Module = class("Module")

-- ---- ordered registries ------------------------------------------------------------------

-- {order = names in registration order, vals = name -> value (may be nil), has = name set}
local function registry() return {order = {}, vals = {}, has = {}} end

local function reg_set(r, name, v)
  if not r.has[name] then
    r.has[name] = true
    r.order[#r.order + 1] = name
  end
  r.vals[name] = v
end

local function reg_remove(r, name)
  if not r.has[name] then return end
  r.has[name], r.vals[name] = nil, nil
  for i, n in ipairs(r.order) do
    if n == name then table.remove(r.order, i) break end
  end
end

function Module:__init()
  rawset(self, "_parameters", registry())
  rawset(self, "_buffers", registry())
  rawset(self, "_modules", registry())
  rawset(self, "_forward_hooks", {})
  rawset(self, "training", true)
end

local function is_module(v) return class.is_instance(v, Module) end
Module.is_module = is_module

local function check_name(self, what, name)
  if type(name) ~= "string" or name == "" or name:find(".", 1, true) then
    error(("%s: invalid name %s for %s (a non-empty string without '.')"):format(
      what, tostring(name), class.name_of(self)), 3)
  end
end

-- ---- field access --------------------------------------------------------------------------

function Module.__index(self, k)
  local cls = getmetatable(self)
  local v = cls[k]
  if v ~= nil then return v end
  local mods = rawget(self, "_modules")
  if mods == nil then return nil end
  if type(k) == "number" then
    -- containers: seq[1] is the first child (whose name is "0", as in PyTorch)
    if cls._numeric_index then
      local name = mods.order[k]
      return name and mods.vals[name]
    end
    return nil
  end
  v = rawget(self, "_parameters").vals[k]
  if v ~= nil then return v end
  v = rawget(self, "_buffers").vals[k]
  if v ~= nil then return v end
  return mods.vals[k]
end

function Module.__newindex(self, k, v)
  local mods = rawget(self, "_modules")
  if mods == nil then rawset(self, k, v) return end
  if type(k) == "number" and getmetatable(self)._numeric_index then
    local name = mods.order[k]
    if not name or not is_module(v) then
      error(("%s: cannot assign %s to position %d (%d children)"):format(
        class.name_of(self), class.name_of(v) or type(v), k, #mods.order), 2)
    end
    k = name
  end
  if is_module(v) then
    self:add_module(k, v)
  elseif mods.has[k] then
    if v ~= nil then
      error(("%s: cannot assign a %s to child module '%s' (expected a Module or nil)"):format(
        class.name_of(self), type(v), k), 2)
    end
    reg_remove(mods, k)
  elseif rawget(self, "_parameters").has[k] then
    self:register_parameter(k, v)
  elseif rawget(self, "_buffers").has[k] then
    self:register_buffer(k, v)
  else
    rawset(self, k, v)
  end
end

-- ---- registration -------------------------------------------------------------------------

-- Adds (or replaces in place) the child `name`. Returns the child.
function Module:add_module(name, m)
  check_name(self, "add_module", name)
  if not is_module(m) then
    error(("add_module: '%s' must be a Module, got %s"):format(name, type(m)), 2)
  end
  if self._parameters.has[name] or self._buffers.has[name] then
    error(("add_module: %s already has a parameter or buffer named '%s'"):format(
      class.name_of(self), name), 2)
  end
  rawset(self, name, nil)
  reg_set(self._modules, name, m)
  return m
end

-- Registers a parameter (a float32 leaf tensor, normally requiring grad) or nil, which
-- keeps the name known but absent (PyTorch's `bias=None`).
function Module:register_parameter(name, t)
  check_name(self, "register_parameter", name)
  if t ~= nil and not loupe.is_tensor(t) then
    error(("register_parameter: '%s' must be a tensor or nil, got %s"):format(name, type(t)), 2)
  end
  if self._modules.has[name] or self._buffers.has[name] then
    error(("register_parameter: %s already has a child or buffer named '%s'"):format(
      class.name_of(self), name), 2)
  end
  rawset(self, name, nil)
  reg_set(self._parameters, name, t)
  return t
end

-- Registers a buffer: state saved in the state_dict but not trained (running statistics).
function Module:register_buffer(name, t)
  check_name(self, "register_buffer", name)
  if t ~= nil and not loupe.is_tensor(t) then
    error(("register_buffer: '%s' must be a tensor or nil, got %s"):format(name, type(t)), 2)
  end
  if self._modules.has[name] or self._parameters.has[name] then
    error(("register_buffer: %s already has a child or parameter named '%s'"):format(
      class.name_of(self), name), 2)
  end
  rawset(self, name, nil)
  reg_set(self._buffers, name, t)
  return t
end

-- ---- forward and hooks ----------------------------------------------------------------------

function Module:forward()
  error(("%s has no forward: a module class defines forward(self, ...)"):format(class.name_of(self)), 2)
end

-- m(x, ...) = m:forward(x, ...), then each forward hook in registration order:
-- hook(module, input, output) where input is forward's first argument; a hook that returns
-- a value replaces the output.
function Module.__call(self, ...)
  local out = self:forward(...)
  local hooks = self._forward_hooks
  if #hooks > 0 then
    local input = ...
    for _, h in ipairs({table.unpack(hooks)}) do -- a copy: hooks may remove themselves
      local r = h.fn(self, input, out)
      if r ~= nil then out = r end
    end
  end
  return out
end

-- Returns a handle whose :remove() unregisters the hook.
function Module:register_forward_hook(fn)
  if type(fn) ~= "function" then
    error("register_forward_hook: expected a function, got " .. type(fn), 2)
  end
  local hooks, entry = self._forward_hooks, {fn = fn}
  hooks[#hooks + 1] = entry
  return {remove = function()
    for i, e in ipairs(hooks) do
      if e == entry then table.remove(hooks, i) return end
    end
  end}
end

-- ---- traversal ---------------------------------------------------------------------------------

function Module:named_children()
  local out, seen = {}, {}
  for _, name in ipairs(self._modules.order) do
    local m = self._modules.vals[name]
    if not seen[m] then
      seen[m] = true
      out[#out + 1] = {name, m}
    end
  end
  return out
end

function Module:children()
  local out = {}
  for i, nm in ipairs(self:named_children()) do out[i] = nm[2] end
  return out
end

-- Every module of the tree, depth first, the root first under the name "" (or `prefix`).
function Module:named_modules(prefix)
  local out, seen = {}, {}
  local function walk(m, name)
    if seen[m] then return end
    seen[m] = true
    out[#out + 1] = {name, m}
    for _, child in ipairs(m._modules.order) do
      local c = m._modules.vals[child]
      walk(c, name == "" and child or name .. "." .. child)
    end
  end
  walk(self, prefix or "")
  return out
end

function Module:modules()
  local out = {}
  for i, nm in ipairs(self:named_modules()) do out[i] = nm[2] end
  return out
end

-- {name, tensor} pairs of one registry (`_parameters` or `_buffers`) over the whole tree;
-- a tensor shared by several modules is listed once, under its first name.
local function named_tensors(self, field)
  local out, seen = {}, {}
  for _, nm in ipairs(self:named_modules()) do
    local prefix, r = nm[1], nm[2][field]
    for _, name in ipairs(r.order) do
      local t = r.vals[name]
      if t ~= nil and not seen[t] then
        seen[t] = true
        out[#out + 1] = {prefix == "" and name or prefix .. "." .. name, t}
      end
    end
  end
  return out
end

function Module:named_parameters() return named_tensors(self, "_parameters") end
function Module:named_buffers() return named_tensors(self, "_buffers") end

function Module:parameters()
  local out = {}
  for i, np in ipairs(self:named_parameters()) do out[i] = np[2] end
  return out
end

function Module:buffers()
  local out = {}
  for i, nb in ipairs(self:named_buffers()) do out[i] = nb[2] end
  return out
end

-- Total number of parameter elements.
function Module:num_parameters()
  local n = 0
  for _, p in ipairs(self:parameters()) do n = n + p:numel() end
  return n
end

-- The submodule at a dotted path of child names ("layer2.1.conv1"); "" is the module itself.
function Module:get(path)
  if type(path) ~= "string" then error("get: expected a dotted path string, got " .. type(path), 2) end
  local m, walked = self, class.name_of(self)
  if path == "" then return m end
  for part in path:gmatch("[^.]+") do
    local child = m._modules.vals[part]
    if child == nil then
      error(("get: no submodule '%s' in %s (its children: %s)"):format(
        part, walked, #m._modules.order > 0 and table.concat(m._modules.order, ", ") or "none"), 2)
    end
    m, walked = child, walked .. "." .. part
  end
  return m
end

-- Calls fn(module) on every submodule, children first and the module itself last (PyTorch).
function Module:apply(fn)
  for _, c in ipairs(self:children()) do c:apply(fn) end
  fn(self)
  return self
end

-- nn.Sequential of the first n children, like PyTorch's Sequential(*list(m.children())[:n]);
-- the children are shared, not copied, and are renamed "0", "1", ...
function Module:truncate(n)
  local Sequential = require("loupe.nn.containers").Sequential
  local kids = self:children()
  if math.type(n) ~= "integer" or n < 0 or n > #kids then
    error(("truncate: expected an integer in [0, %d], got %s"):format(#kids, tostring(n)), 2)
  end
  return Sequential(table.unpack(kids, 1, n))
end

-- ---- modes and gradients ---------------------------------------------------------------------

function Module:train(mode)
  if mode == nil then mode = true end
  for _, m in ipairs(self:modules()) do rawset(m, "training", mode and true or false) end
  return self
end

function Module:eval() return self:train(false) end

-- Clears every parameter's .grad (set to nil, PyTorch 2's default).
function Module:zero_grad()
  for _, p in ipairs(self:parameters()) do p.grad = nil end
end

-- requires_grad_(false) freezes every parameter; requires_grad_() unfreezes.
function Module:requires_grad_(flag)
  if flag == nil then flag = true end
  for _, p in ipairs(self:parameters()) do p:requires_grad_(flag) end
  return self
end

-- ---- state dict --------------------------------------------------------------------------------

-- {key, tensor} for every saved entry, in PyTorch's state_dict order: a module's own
-- parameters, then its buffers, then its children, depth first. The tensors are the
-- module's own (not detached).
local function state_entries(self)
  local out = {}
  local function walk(m, prefix)
    for _, field in ipairs({"_parameters", "_buffers"}) do
      local r = m[field]
      for _, name in ipairs(r.order) do
        local t = r.vals[name]
        if t ~= nil then out[#out + 1] = {prefix .. name, t} end
      end
    end
    for _, name in ipairs(m._modules.order) do walk(m._modules.vals[name], prefix .. name .. ".") end
  end
  walk(self, "")
  return out
end

-- Returns key -> tensor (detached, sharing memory with the module), torchvision's keys
-- ("layer1.0.conv1.weight", "bn1.running_mean", ...). The map is what loupe.save takes:
-- loupe.save("model.safetensors", model:state_dict()). state_dict_keys() gives the order.
function Module:state_dict()
  local sd = {}
  for _, e in ipairs(state_entries(self)) do sd[e[1]] = e[2]:detach() end
  return sd
end

-- The state_dict keys in PyTorch's order (a Lua table has none).
function Module:state_dict_keys()
  local keys = {}
  for i, e in ipairs(state_entries(self)) do keys[i] = e[1] end
  return keys
end

local function quoted(list)
  local q = {}
  for i, k in ipairs(list) do q[i] = '"' .. k .. '"' end
  return table.concat(q, ", ")
end

-- Copies sd's tensors into this module's parameters and buffers, in place and without
-- recording gradients. Nothing is copied unless every check passes.
-- opts.strict (default true): missing or unexpected keys are an error naming them. A shape
-- mismatch is always an error naming the key and both shapes.
-- Returns the missing keys and the unexpected keys (lists, in order / sorted).
function Module:load_state_dict(sd, opts)
  if type(sd) ~= "table" then error("load_state_dict: expected a table of tensors, got " .. type(sd), 2) end
  local strict = not (opts and opts.strict == false)
  local entries, expected = state_entries(self), {}
  local missing, unexpected, problems = {}, {}, {}
  for _, e in ipairs(entries) do
    local key, dst = e[1], e[2]
    expected[key] = true
    local src = sd[key]
    if src == nil then
      missing[#missing + 1] = key
    elseif not loupe.is_tensor(src) then
      problems[#problems + 1] = ("value for %s is a %s, not a tensor"):format(key, type(src))
    elseif repr.shape(src) ~= repr.shape(dst) then
      problems[#problems + 1] = ("size mismatch for %s: copying a param with shape %s from " ..
        "checkpoint, the shape in current model is %s"):format(key, repr.shape(src), repr.shape(dst))
    end
  end
  for key in pairs(sd) do
    if not expected[key] then unexpected[#unexpected + 1] = tostring(key) end
  end
  table.sort(unexpected)
  if strict then
    if #missing > 0 then
      table.insert(problems, 1, "Missing key(s) in state_dict: " .. quoted(missing))
    end
    if #unexpected > 0 then
      table.insert(problems, #missing > 0 and 2 or 1,
        "Unexpected key(s) in state_dict: " .. quoted(unexpected))
    end
  end
  if #problems > 0 then
    error(("load_state_dict: error(s) loading state_dict for %s:\n\t%s"):format(
      class.name_of(self), table.concat(problems, "\n\t")), 2)
  end
  loupe.no_grad(function()
    for _, e in ipairs(entries) do
      local src = sd[e[1]]
      if src ~= nil then e[2]:copy_(src) end
    end
  end)
  return missing, unexpected
end

-- ---- printing ------------------------------------------------------------------------------------

-- The layer's own settings, as inside PyTorch's repr ("in_features=3, out_features=4, ...").
function Module:extra_repr() return "" end

-- The module tree exactly as PyTorch prints it.
function Module:to_string()
  local lines = {}
  local extra = self:extra_repr()
  local n_extra = 0
  if extra ~= "" then
    for line in (extra .. "\n"):gmatch("(.-)\n") do
      lines[#lines + 1] = line
      n_extra = n_extra + 1
    end
  end
  for _, nm in ipairs(self._modules.order) do
    local child = self._modules.vals[nm]:to_string():gsub("\n", "\n  ")
    lines[#lines + 1] = "(" .. nm .. "): " .. child
  end
  local s = class.name_of(self) .. "("
  if n_extra == 1 and #lines == 1 then
    s = s .. lines[1]
  elseif #lines > 0 then
    s = s .. "\n  " .. table.concat(lines, "\n  ") .. "\n"
  end
  return s .. ")"
end

function Module.__tostring(self) return self:to_string() end

return Module
