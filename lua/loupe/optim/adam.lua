-- adam.lua — Adam and AdamW as torch.optim.Adam / AdamW (1.13, amsgrad off):
--
--   loupe.optim.Adam(params, {lr = 1e-3, betas = {0.9, 0.999}, eps = 1e-8, weight_decay = 0})
--   loupe.optim.AdamW(params, {lr = 1e-3, betas = {0.9, 0.999}, eps = 1e-8, weight_decay = 1e-2})
--
-- Adam's weight_decay is L2 (wd * p added to the gradient); AdamW's is decoupled
-- (p *= 1 - lr * wd before the update, so it anneals with the learning rate). Both then do
--   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
--   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
-- in one fused C loop per parameter (src/nn/optim.c). State per parameter: step (a number),
-- exp_avg, exp_avg_sq.
local loupe = require "loupe"
local class = require "loupe.class"
local Optimizer = require "loupe.optim.optimizer"

local kernel = loupe._optim

local Adam = class("Adam", Optimizer)
Adam.OPTIONS = {"lr", "betas", "eps", "weight_decay"}
Adam.DEFAULTS = {lr = 1e-3, betas = {0.9, 0.999}, eps = 1e-8, weight_decay = 0}
Adam.decoupled = false

function Adam:__init(params, opts)
  Optimizer.__init(self, params, opts)
end

function Adam:check_group(g, level)
  local name = self.__name
  for _, k in ipairs{"lr", "eps", "weight_decay"} do
    if type(g[k]) ~= "number" or not (g[k] >= 0) then
      error(("%s: invalid %s %s (expected a number >= 0)"):format(name, k, tostring(g[k])), level)
    end
  end
  local b = g.betas
  if type(b) ~= "table" or #b ~= 2 then
    error(("%s: betas must be a pair {beta1, beta2}, got %s"):format(name, tostring(b)), level)
  end
  for i = 1, 2 do
    if type(b[i]) ~= "number" or not (b[i] >= 0 and b[i] < 1) then
      error(("%s: invalid beta %d: %s (expected 0 <= beta < 1)"):format(
        name, i, tostring(b[i])), level)
    end
  end
end

function Adam:update(p, grad, st, g)
  if st.step == nil then
    st.step = 0
    st.exp_avg = loupe.zeros(p:shape())
    st.exp_avg_sq = loupe.zeros(p:shape())
  end
  st.step = st.step + 1
  kernel.adam_step(p, grad, st.exp_avg, st.exp_avg_sq, {
    lr = g.lr, beta1 = g.betas[1], beta2 = g.betas[2], eps = g.eps,
    weight_decay = g.weight_decay, decoupled = self.decoupled, step = st.step})
end

local AdamW = class("AdamW", Adam)
AdamW.DEFAULTS = {lr = 1e-3, betas = {0.9, 0.999}, eps = 1e-8, weight_decay = 1e-2}
AdamW.decoupled = true

function AdamW:__init(params, opts)
  Optimizer.__init(self, params, opts)
end

return {Adam = Adam, AdamW = AdamW}
