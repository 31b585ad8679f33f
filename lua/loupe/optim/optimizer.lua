-- optimizer.lua — the base of loupe's optimizers, as torch.optim.Optimizer: parameter groups
-- with per-group options, per-parameter state, step / zero_grad, state_dict /
-- load_state_dict. Subclasses (sgd.lua, adam.lua) declare their options and implement
-- `update(p, grad, state, group)` with one fused C kernel call per parameter.
--
-- A subclass sets on its class:
--   OPTIONS    the option names, in the order error messages list them
--   DEFAULTS   option -> default value (an option without a default is required)
--   check_group(self, group, level)   validates a group's values (error at `level`)
--   update(self, p, grad, state, group)
local loupe = require "loupe"
local class = require "loupe.class"
local util = require "loupe.optim.util"

local Optimizer = class("Optimizer")

-- Levels for error(): the user's call is 4 above Optimizer.__init (__init <- subclass
-- __init <- class constructor <- user).
local CTOR_LEVEL = 4

function Optimizer:__init(params, opts)
  local name = self.__name
  opts = util.options(opts, self.OPTIONS, name, CTOR_LEVEL)
  self.defaults = {}
  for _, k in ipairs(self.OPTIONS) do
    local v = opts[k]
    if v == nil then v = self.DEFAULTS[k] end
    self.defaults[k] = util.copy(v)
  end
  self.param_groups = {}
  self.state = {} -- parameter tensor -> its state table
  if type(params) ~= "table" or (not loupe.is_tensor(params) and next(params) == nil) then
    error(("%s: expected a non-empty list of tensors or of parameter groups, got %s"):format(
      name, type(params) == "table" and "an empty table" or type(params)), CTOR_LEVEL)
  end
  local groups = params
  if loupe.is_tensor(params) or loupe.is_tensor(params[1]) then groups = {{params = params}} end
  for _, g in ipairs(groups) do self:_add_group(g, CTOR_LEVEL + 1) end
end

-- Adds a group {params = tensor or list, option = value...}; options left out take the
-- optimizer's defaults (e.g. a new, unfrozen part of a model with its own lr).
function Optimizer:add_param_group(group)
  self:_add_group(group, 3)
end

function Optimizer:_add_group(group, level)
  local name = self.__name
  if type(group) ~= "table" or loupe.is_tensor(group) then
    error(("%s: a parameter group must be a table {params = ...}, got %s"):format(
      name, loupe.is_tensor(group) and "a tensor" or type(group)), level)
  end
  local allowed = {"params"}
  for _, k in ipairs(self.OPTIONS) do allowed[#allowed + 1] = k end
  util.options(group, allowed, name .. " (parameter group)", level)
  local params = group.params
  if loupe.is_tensor(params) then params = {params} end
  if type(params) ~= "table" or #params == 0 then
    error(("%s: parameter group %d has no params"):format(name, #self.param_groups + 1), level)
  end
  local seen = {}
  for _, g in ipairs(self.param_groups) do
    for _, p in ipairs(g.params) do seen[p] = true end
  end
  local g = {params = {}}
  for i, p in ipairs(params) do
    if not loupe.is_tensor(p) then
      error(("%s: parameter %d of group %d is a %s, not a tensor"):format(
        name, i, #self.param_groups + 1, type(p)), level)
    end
    if p:dtype() ~= "float32" or not p:is_leaf() then
      local is = p:is_leaf() and p:dtype() or "the result of " .. p:grad_fn()
      error(("%s: can only optimize float32 leaf tensors; parameter %d of group %d is %s"):format(
        name, i, #self.param_groups + 1, is), level)
    end
    if seen[p] then
      error(("%s: parameter %d of group %d appears more than once"):format(
        name, i, #self.param_groups + 1), level)
    end
    seen[p] = true
    g.params[i] = p
  end
  for _, k in ipairs(self.OPTIONS) do
    local v = group[k]
    if v == nil then v = self.defaults[k] end
    if v == nil then error(("%s: option '%s' is required"):format(name, k), level) end
    g[k] = util.copy(v)
  end
  self:check_group(g, level + 1)
  self.param_groups[#self.param_groups + 1] = g
end

-- One optimization step over every parameter that has a gradient (others, e.g. a frozen
-- backbone, are skipped and their state is left alone). With a closure, calls it first
-- (with grad mode on; it should zero the gradients, compute the loss, call backward and
-- return the loss) and returns its result. The updates run under loupe.uninterruptible: a
-- Ctrl-C or SIGTERM during them takes effect once every parameter is updated, so the
-- parameters and the state are never left half-stepped.
function Optimizer:step(closure)
  local loss
  if closure ~= nil then loss = loupe.enable_grad(closure) end
  loupe.uninterruptible(self._update_all, self)
  return loss
end

function Optimizer:_update_all()
  for _, group in ipairs(self.param_groups) do
    for _, p in ipairs(group.params) do
      local grad = p.grad
      if grad ~= nil then
        local st = self.state[p]
        if st == nil then
          st = {}
          self.state[p] = st
        end
        self:update(p, grad, st, group)
      end
    end
  end
end

-- Clears every parameter's gradient (sets .grad to nil, PyTorch 2's set_to_none).
function Optimizer:zero_grad()
  for _, group in ipairs(self.param_groups) do
    for _, p in ipairs(group.params) do p.grad = nil end
  end
end

-- The state as plain data: {state = {[i] = {step = n, exp_avg = tensor, ...}},
-- param_groups = {{lr = ..., params = {i, ...}}, ...}} with parameters numbered 1.. in group
-- order, as torch numbers them from 0. The tensors are the live state (not copies): save or
-- clone them before the next step.
function Optimizer:state_dict()
  local sd, index, n = {state = {}, param_groups = {}}, {}, 0
  for gi, group in ipairs(self.param_groups) do
    local g = {params = {}}
    for k, v in pairs(group) do
      if k ~= "params" then g[k] = util.copy(v) end
    end
    for i, p in ipairs(group.params) do
      n = n + 1
      index[p] = n
      g.params[i] = n
    end
    sd.param_groups[gi] = g
  end
  for p, st in pairs(self.state) do
    if index[p] then sd.state[index[p]] = util.copy(st) end
  end
  return sd
end

-- Restores a state_dict() of an optimizer of the same kind over parameters of the same
-- shapes, in the same groups and order. State tensors are copied.
function Optimizer:load_state_dict(sd)
  local name = self.__name .. ".load_state_dict"
  if type(sd) ~= "table" or type(sd.param_groups) ~= "table" then
    error(name .. ": expected a table with param_groups (from state_dict())", 2)
  end
  if #sd.param_groups ~= #self.param_groups then
    error(("%s: the state has %d parameter groups, the optimizer %d"):format(
      name, #sd.param_groups, #self.param_groups), 2)
  end
  local by_index = {}
  for gi, group in ipairs(self.param_groups) do
    local saved = sd.param_groups[gi]
    local ids = type(saved.params) == "table" and saved.params or {}
    if #ids ~= #group.params then
      error(("%s: parameter group %d has %d parameters in the state, %d in the optimizer"):format(
        name, gi, #ids, #group.params), 2)
    end
    for i, p in ipairs(group.params) do by_index[ids[i]] = p end
  end
  local state = {}
  for idx, st in pairs(sd.state or {}) do
    local p = by_index[idx]
    if p == nil then
      error(("%s: state for unknown parameter %s"):format(name, tostring(idx)), 2)
    end
    local s = {}
    for k, v in pairs(st) do
      if loupe.is_tensor(v) then
        if table.concat(v:shape(), ",") ~= table.concat(p:shape(), ",") then
          error(("%s: state '%s' of parameter %d has shape %s, the parameter %s"):format(
            name, k, idx, util.shape(v), util.shape(p)), 2)
        end
        v = v:float():clone():contiguous()
      end
      s[k] = v
    end
    state[p] = s
  end
  for gi, group in ipairs(self.param_groups) do
    local g = {params = group.params}
    for k, v in pairs(sd.param_groups[gi]) do
      if k ~= "params" then g[k] = util.copy(v) end
    end
    self.param_groups[gi] = g
  end
  self.state = state
end

function Optimizer:__tostring()
  local lines = {self.__name .. " ("}
  for gi, g in ipairs(self.param_groups) do
    local opts = {}
    for _, k in ipairs(self.OPTIONS) do
      local v = g[k]
      if type(v) == "table" then v = "{" .. table.concat(v, ", ") .. "}" end
      opts[#opts + 1] = k .. "=" .. tostring(v)
    end
    lines[#lines + 1] = ("  group %d: %d tensors, %s"):format(
      gi, #g.params, table.concat(opts, ", "))
  end
  lines[#lines + 1] = ")"
  return table.concat(lines, "\n")
end

return Optimizer
