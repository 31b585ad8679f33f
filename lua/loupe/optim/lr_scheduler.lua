-- lr_scheduler.lua — learning-rate schedules as torch.optim.lr_scheduler (1.13):
--
--   local S = loupe.optim.lr_scheduler
--   S.StepLR(opt, {step_size = <required>, gamma = 0.1})
--   S.CosineAnnealingLR(opt, {T_max = <required>, eta_min = 0})
--   S.LinearLR(opt, {start_factor = 1/3, end_factor = 1, total_iters = 5})   -- linear warm-up
--   S.OneCycleLR(opt, {max_lr = <required>, total_steps = n | epochs = e, steps_per_epoch = s,
--                      pct_start = 0.3, anneal_strategy = "cos", cycle_momentum = true,
--                      base_momentum = 0.85, max_momentum = 0.95, div_factor = 25,
--                      final_div_factor = 1e4, three_phase = false})
--   S.SequentialLR(opt, {schedulers = {s1, s2, ...}, milestones = {m1, ...}})
--
--   sched:step()          once per epoch (or per batch for OneCycleLR), after opt:step()
--   sched:get_last_lr()   the learning rate of each parameter group, as a list
--   sched:state_dict() / sched:load_state_dict(sd)   plain tables (see loupe.optim.flatten_state)
--
-- As in PyTorch, constructing a scheduler sets the groups' lr to the epoch-0 value, and each
-- scheduler's base learning rates are the groups' `initial_lr` (set from lr by the first
-- scheduler attached to the optimizer), so a warm-up and a decay built on the same optimizer
-- both start from the configured lr.
--
-- Every schedule is computed in closed form from its epoch counter: epoch e of
-- CosineAnnealingLR is eta_min + (base - eta_min) (1 + cos(pi e / T_max)) / 2 exactly (the
-- bilinear spec's schedule), StepLR base * gamma^floor(e / step_size), LinearLR
-- base * (start + (end - start) min(e, total_iters) / total_iters). PyTorch's recursive
-- ("chainable") forms give the same values up to rounding as long as nothing else changes
-- lr; here an lr set by hand between steps is overwritten at the next step rather than
-- scaled, and two schedulers stepping one optimizer at once do not compose (use
-- SequentialLR to run them one after the other).
--
-- OneCycleLR also cycles the momentum (SGD's momentum, or Adam's beta1) inversely to the
-- learning rate between max_momentum and base_momentum, as PyTorch does by default; pass
-- cycle_momentum = false to leave it alone. Stepping it past total_steps is an error.
local class = require "loupe.class"
local util = require "loupe.optim.util"

local M = {}

local function is_optimizer(opt)
  return type(opt) == "table" and type(opt.param_groups) == "table"
end

local function positive_int(v, name, what, level)
  if math.type(v) ~= "integer" or v < 1 then
    error(("%s: %s must be a positive integer, got %s"):format(what, name, tostring(v)), level + 1)
  end
  return v
end

-- ---- base ----

local LRScheduler = class("LRScheduler")
M.LRScheduler = LRScheduler

-- Levels for error() in constructors: user <- class constructor <- subclass __init <- here.
local CTOR_LEVEL = 4

-- Attaches to opt (a loupe.optim optimizer) and applies epoch 0.
function LRScheduler:__init(opt)
  if not is_optimizer(opt) then
    error(("%s: expected an optimizer, got %s"):format(self.__name, type(opt)), CTOR_LEVEL)
  end
  self.optimizer = opt
  self.base_lrs = {}
  for i, g in ipairs(opt.param_groups) do
    if g.initial_lr == nil then g.initial_lr = g.lr end
    self.base_lrs[i] = g.initial_lr
  end
  self.last_epoch = -1
  self:step()
end

-- Advances one epoch (or goes to `epoch`) and sets every group's lr.
function LRScheduler:step(epoch)
  self.last_epoch = epoch or self.last_epoch + 1
  local lrs = self:lr_at(self.last_epoch)
  for i, g in ipairs(self.optimizer.param_groups) do g.lr = lrs[i] end
  self.last_lr = lrs
end

function LRScheduler:get_last_lr() return util.copy(self.last_lr) end

-- Every field but the optimizer, as plain data (numbers, strings, booleans, lists).
function LRScheduler:state_dict()
  local sd = {}
  for k, v in pairs(self) do
    if k ~= "optimizer" then sd[k] = util.copy(v) end
  end
  return sd
end

function LRScheduler:load_state_dict(sd)
  if type(sd) ~= "table" then
    error(self.__name .. ".load_state_dict: expected a table from state_dict()", 2)
  end
  for k, v in pairs(sd) do
    if k ~= "optimizer" then self[k] = util.copy(v) end
  end
end

-- The per-group list f(base_lr, i) for every group i.
local function per_group(self, f)
  local out = {}
  for i, base in ipairs(self.base_lrs) do out[i] = f(base, i) end
  return out
end

-- ---- StepLR ----

local StepLR = class("StepLR", LRScheduler)
M.StepLR = StepLR

function StepLR:__init(opt, opts)
  opts = util.options(opts, {"step_size", "gamma"}, "StepLR", CTOR_LEVEL - 1)
  self.step_size = positive_int(opts.step_size, "step_size", "StepLR", CTOR_LEVEL - 1)
  self.gamma = opts.gamma or 0.1
  LRScheduler.__init(self, opt)
end

function StepLR:lr_at(e)
  local f = self.gamma ^ (e // self.step_size)
  return per_group(self, function(base) return base * f end)
end

-- ---- CosineAnnealingLR ----

local CosineAnnealingLR = class("CosineAnnealingLR", LRScheduler)
M.CosineAnnealingLR = CosineAnnealingLR

function CosineAnnealingLR:__init(opt, opts)
  opts = util.options(opts, {"T_max", "eta_min"}, "CosineAnnealingLR", CTOR_LEVEL - 1)
  self.T_max = positive_int(opts.T_max, "T_max", "CosineAnnealingLR", CTOR_LEVEL - 1)
  self.eta_min = opts.eta_min or 0
  LRScheduler.__init(self, opt)
end

function CosineAnnealingLR:lr_at(e)
  local c = (1 + math.cos(math.pi * e / self.T_max)) / 2
  return per_group(self, function(base) return self.eta_min + (base - self.eta_min) * c end)
end

-- ---- LinearLR ----

local LinearLR = class("LinearLR", LRScheduler)
M.LinearLR = LinearLR

function LinearLR:__init(opt, opts)
  local what, level = "LinearLR", CTOR_LEVEL - 1
  opts = util.options(opts, {"start_factor", "end_factor", "total_iters"}, what, level)
  self.start_factor = opts.start_factor or 1 / 3
  self.end_factor = opts.end_factor or 1
  self.total_iters = positive_int(opts.total_iters or 5, "total_iters", what, level)
  if not (self.start_factor > 0 and self.start_factor <= 1) then
    error(("%s: start_factor must be in (0, 1], got %s"):format(what, self.start_factor), level)
  end
  if not (self.end_factor >= 0 and self.end_factor <= 1) then
    error(("%s: end_factor must be in [0, 1], got %s"):format(what, self.end_factor), level)
  end
  LRScheduler.__init(self, opt)
end

function LinearLR:lr_at(e)
  local t = math.min(e, self.total_iters) / self.total_iters
  local f = self.start_factor + (self.end_factor - self.start_factor) * t
  return per_group(self, function(base) return base * f end)
end

-- ---- OneCycleLR ----

local OneCycleLR = class("OneCycleLR", LRScheduler)
M.OneCycleLR = OneCycleLR

local ONECYCLE_OPTIONS = {"max_lr", "total_steps", "epochs", "steps_per_epoch", "pct_start",
                          "anneal_strategy", "cycle_momentum", "base_momentum", "max_momentum",
                          "div_factor", "final_div_factor", "three_phase"}

-- A number or a list with one value per group, as a list.
local function per_group_values(v, n, name, level)
  if type(v) == "table" then
    if #v ~= n then
      error(("OneCycleLR: expected %d values for %s, got %d"):format(n, name, #v), level + 1)
    end
    return util.copy(v)
  end
  if type(v) ~= "number" then
    error(("OneCycleLR: %s must be a number or a list, got %s"):format(name, type(v)), level + 1)
  end
  local out = {}
  for i = 1, n do out[i] = v end
  return out
end

function OneCycleLR:__init(opt, opts)
  local what, level = "OneCycleLR", CTOR_LEVEL - 1
  opts = util.options(opts, ONECYCLE_OPTIONS, what, level)
  if not is_optimizer(opt) then
    error(("%s: expected an optimizer, got %s"):format(what, type(opt)), level)
  end
  if opts.max_lr == nil then error("OneCycleLR: option 'max_lr' is required", level) end
  if opts.total_steps ~= nil then
    self.total_steps = positive_int(opts.total_steps, "total_steps", what, level)
  elseif opts.epochs ~= nil or opts.steps_per_epoch ~= nil then
    self.total_steps = positive_int(opts.epochs, "epochs", what, level)
      * positive_int(opts.steps_per_epoch, "steps_per_epoch", what, level)
  else
    error("OneCycleLR: give total_steps, or epochs and steps_per_epoch", level)
  end
  local pct = opts.pct_start or 0.3
  if type(pct) ~= "number" or pct < 0 or pct > 1 then
    error(("OneCycleLR: pct_start must be in [0, 1], got %s"):format(tostring(pct)), level)
  end
  self.anneal_strategy = opts.anneal_strategy or "cos"
  if self.anneal_strategy ~= "cos" and self.anneal_strategy ~= "linear" then
    error(("OneCycleLR: anneal_strategy must be 'cos' or 'linear', got '%s'"):format(
      tostring(self.anneal_strategy)), level)
  end
  -- phases: {end_step, start, end} with start/end naming group fields (as PyTorch)
  local n = self.total_steps
  if opts.three_phase then
    self.phases = {
      {pct * n - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"},
      {2 * pct * n - 2, "max_lr", "initial_lr", "base_momentum", "max_momentum"},
      {n - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"}}
  else
    self.phases = {
      {pct * n - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"},
      {n - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"}}
  end
  local groups = opt.param_groups
  local max_lrs = per_group_values(opts.max_lr, #groups, "max_lr", level)
  local div, final_div = opts.div_factor or 25, opts.final_div_factor or 1e4
  for i, g in ipairs(groups) do
    g.initial_lr = max_lrs[i] / div
    g.max_lr = max_lrs[i]
    g.min_lr = g.initial_lr / final_div
  end
  self.cycle_momentum = opts.cycle_momentum ~= false
  if self.cycle_momentum then
    local defaults = opt.defaults or {}
    if defaults.momentum == nil and defaults.betas == nil then
      error("OneCycleLR: the optimizer has no momentum to cycle (use cycle_momentum = false)",
            level)
    end
    self.use_beta1 = defaults.betas ~= nil
    local maxm = per_group_values(opts.max_momentum or 0.95, #groups, "max_momentum", level)
    local basem = per_group_values(opts.base_momentum or 0.85, #groups, "base_momentum", level)
    for i, g in ipairs(groups) do
      g.max_momentum, g.base_momentum = maxm[i], basem[i]
      self:set_momentum(g, maxm[i])
    end
  end
  LRScheduler.__init(self, opt)
end

function OneCycleLR:set_momentum(g, m)
  if self.use_beta1 then g.betas = {m, g.betas[2]} else g.momentum = m end
end

local function anneal(strategy, a, b, pct)
  if strategy == "cos" then return b + (a - b) / 2 * (math.cos(math.pi * pct) + 1) end
  return (b - a) * pct + a
end

-- Also sets each group's momentum for step e (when cycling it).
function OneCycleLR:lr_at(e)
  if e > self.total_steps then
    error(("OneCycleLR: tried to step %d times; total_steps is %d"):format(
      e + 1, self.total_steps), 3)
  end
  local lrs = {}
  for i, g in ipairs(self.optimizer.param_groups) do
    local start = 0
    for k, ph in ipairs(self.phases) do
      local stop = ph[1]
      if e <= stop or k == #self.phases then
        local pct = (e - start) / (stop - start)
        lrs[i] = anneal(self.anneal_strategy, g[ph[2]], g[ph[3]], pct)
        if self.cycle_momentum then
          self:set_momentum(g, anneal(self.anneal_strategy, g[ph[4]], g[ph[5]], pct))
        end
        break
      end
      start = stop
    end
  end
  return lrs
end

-- ---- SequentialLR ----

local SequentialLR = class("SequentialLR", LRScheduler)
M.SequentialLR = SequentialLR

-- Runs schedulers[1] until milestones[1], then schedulers[2] restarted at its epoch 0, ...
function SequentialLR:__init(opt, opts)
  local what, level = "SequentialLR", CTOR_LEVEL - 1
  opts = util.options(opts, {"schedulers", "milestones"}, what, level)
  local scheds, miles = opts.schedulers, opts.milestones or {}
  if type(scheds) ~= "table" or #scheds == 0 then
    error("SequentialLR: option 'schedulers' must be a non-empty list", level)
  end
  for i, s in ipairs(scheds) do
    if not class.is_instance(s, LRScheduler) or s.optimizer ~= opt then
      error(("SequentialLR: scheduler %d does not belong to this optimizer"):format(i), level)
    end
  end
  if type(miles) ~= "table" or #miles ~= #scheds - 1 then
    error(("SequentialLR: expected %d milestones for %d schedulers, got %s"):format(
      #scheds - 1, #scheds, type(miles) == "table" and #miles or type(miles)), level)
  end
  self.optimizer = opt
  self.schedulers = scheds
  self.milestones = util.copy(miles)
  self.last_epoch = 0
  -- undo the epoch-0 step every scheduler took when it was built; restart the first one
  for _, g in ipairs(opt.param_groups) do g.lr = g.initial_lr end
  for _, s in ipairs(scheds) do s.last_epoch = s.last_epoch - 1 end
  scheds[1]:step()
  self.last_lr = scheds[1]:get_last_lr()
end

function SequentialLR:step()
  self.last_epoch = self.last_epoch + 1
  local idx = 0 -- milestones passed
  while idx < #self.milestones and self.milestones[idx + 1] <= self.last_epoch do idx = idx + 1 end
  local s = self.schedulers[idx + 1]
  if idx > 0 and self.milestones[idx] == self.last_epoch then s:step(0) else s:step() end
  self.last_lr = s:get_last_lr()
end

function SequentialLR:state_dict()
  local sd = {last_epoch = self.last_epoch, milestones = util.copy(self.milestones),
              last_lr = util.copy(self.last_lr), schedulers = {}}
  for i, s in ipairs(self.schedulers) do sd.schedulers[i] = s:state_dict() end
  return sd
end

function SequentialLR:load_state_dict(sd)
  local n = #self.schedulers
  if type(sd) ~= "table" or type(sd.schedulers) ~= "table" or #sd.schedulers ~= n then
    error(("SequentialLR.load_state_dict: expected the state of %d schedulers"):format(n), 2)
  end
  self.last_epoch = sd.last_epoch
  self.milestones = util.copy(sd.milestones)
  self.last_lr = util.copy(sd.last_lr)
  for i, s in ipairs(self.schedulers) do s:load_state_dict(sd.schedulers[i]) end
end

return M
