-- sgd.lua — stochastic gradient descent as torch.optim.SGD (1.13):
--
--   loupe.optim.SGD(params, {lr = <required>, momentum = 0, dampening = 0, weight_decay = 0,
--                            nesterov = false})
--
-- weight_decay adds wd * p to the gradient; the momentum buffer starts as the first step's
-- gradient (no dampening on that step); nesterov uses g + momentum * buf. State per parameter:
-- momentum_buffer (only when momentum ~= 0). The update is one fused C loop
-- (src/nn/optim.c).
local loupe = require "loupe"
local class = require "loupe.class"
local Optimizer = require "loupe.optim.optimizer"

local kernel = loupe._optim

local SGD = class("SGD", Optimizer)
SGD.OPTIONS = {"lr", "momentum", "dampening", "weight_decay", "nesterov"}
SGD.DEFAULTS = {momentum = 0, dampening = 0, weight_decay = 0, nesterov = false}

function SGD:__init(params, opts)
  Optimizer.__init(self, params, opts)
end

local function nonneg(name, g, k, level)
  if type(g[k]) ~= "number" or not (g[k] >= 0) then
    error(("%s: invalid %s %s (expected a number >= 0)"):format(name, k, tostring(g[k])), level)
  end
end

-- (errors at `level`, as for error(): the user's call)
function SGD:check_group(g, level)
  for _, k in ipairs{"lr", "momentum", "dampening", "weight_decay"} do
    nonneg("SGD", g, k, level + 1)
  end
  if type(g.nesterov) ~= "boolean" then
    error("SGD: nesterov must be a boolean, got " .. type(g.nesterov), level)
  end
  if g.nesterov and (g.momentum <= 0 or g.dampening ~= 0) then
    error("SGD: nesterov momentum requires a momentum and zero dampening", level)
  end
end

function SGD:update(p, grad, st, g)
  -- the kernel initialises the buffer from the gradient at step 1; later steps decay it
  local step = 2
  if g.momentum ~= 0 and st.momentum_buffer == nil then
    st.momentum_buffer = loupe.zeros(p:shape())
    step = 1
  end
  kernel.sgd_step(p, grad, g.momentum ~= 0 and st.momentum_buffer or nil, {
    lr = g.lr, momentum = g.momentum, dampening = g.dampening, weight_decay = g.weight_decay,
    nesterov = g.nesterov, step = step})
end

return SGD
