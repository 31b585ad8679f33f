-- bilinear.lua — the bilinear MLP image classifier of ../shared/peers/BILINEAR_SPEC.md, its
-- training recipe and its weight-based eigendecomposition.
--
--   local model = loupe.models.bilinear_mlp{d_input = 784, d_hidden = 512, d_output = 10,
--                                           n_layer = 1, bias = false, seed = 420}
--   local history = model:fit(train, test, loupe.transforms.gaussian_noise{std = 0.5, p = 1})
--   local vals, vecs = model:decompose()   -- [C, H] ascending, [C, H, D] in input space
--
-- Structure (spec §1): embed = Linear(D, H, no bias), blocks = n_layer x nn.Bilinear(H, H)
-- (left and right halves of one Linear(H, 2H), multiplied elementwise), head = Linear(H, C,
-- no bias); no normalisation, no residual unless asked. Inputs of any shape [N, ...] with D
-- values per sample are flattened row-major. With `seed`, the generator is seeded right
-- before the layers are created (W_e, then W and b, then W_u, as the reference) and again
-- at the start of fit.
--
-- The configuration also holds the training settings (wd, lr, batch_size, epochs), as the
-- seeds' Model.from_config does; fit's options override them.
local loupe = require "loupe"
local class = require "loupe.class"
local nn = require "loupe.nn"
local args = require "loupe.nn.args"
local repr = require "loupe.nn.repr"

local BilinearMLP = class("BilinearMLP", nn.Module)

local CONFIG = {d_input = 784, d_hidden = 512, d_output = 10, n_layer = 1, bias = false,
                residual = false, seed = false, wd = 1.0, lr = 1e-3, batch_size = 2048,
                epochs = 100}
local CONFIG_KEYS = {"d_input", "d_hidden", "d_output", "n_layer", "bias", "residual", "seed",
                     "wd", "lr", "batch_size", "epochs"}

local function positive_number(v, name, what)
  if type(v) ~= "number" or v ~= v or v < 0 or v == math.huge then
    error(("%s: %s must be a finite number >= 0, got %s"):format(what, name, tostring(v)), 0)
  end
  return v
end

local MAX_LAYERS = 1024 -- the paper's models have one to a few

local function config(opts)
  opts = args.options(opts, CONFIG_KEYS, "bilinear_mlp")
  local cfg = {}
  for k, v in pairs(CONFIG) do cfg[k] = v end
  for k, v in pairs(opts) do cfg[k] = v end
  for _, k in ipairs{"d_input", "d_hidden", "d_output", "n_layer", "batch_size", "epochs"} do
    args.int(cfg[k], k, "bilinear_mlp")
  end
  -- one layer object each: an absurd count would loop (and grow) until memory runs out
  if cfg.n_layer > MAX_LAYERS then
    error(("bilinear_mlp: n_layer must be at most %d, got %d"):format(MAX_LAYERS, cfg.n_layer), 0)
  end
  for _, k in ipairs{"bias", "residual"} do
    if type(cfg[k]) ~= "boolean" then
      error(("bilinear_mlp: %s must be true or false, got %s"):format(k, tostring(cfg[k])), 0)
    end
  end
  if cfg.seed ~= false then args.int(cfg.seed, "seed", "bilinear_mlp", 0) end
  positive_number(cfg.wd, "wd", "bilinear_mlp")
  positive_number(cfg.lr, "lr", "bilinear_mlp")
  return cfg
end

function BilinearMLP:__init(opts)
  nn.Module.__init(self)
  local cfg = config(opts)
  rawset(self, "config", cfg)
  if cfg.seed then loupe.manual_seed(cfg.seed) end
  self.embed = nn.Linear(cfg.d_input, cfg.d_hidden, {bias = false})
  local blocks = nn.ModuleList()
  for _ = 1, cfg.n_layer do
    blocks:append(nn.Bilinear(cfg.d_hidden, cfg.d_hidden, {bias = cfg.bias}))
  end
  self.blocks = blocks
  self.head = nn.Linear(cfg.d_hidden, cfg.d_output, {bias = false})
end

function BilinearMLP:forward(x)
  local d = self.config.d_input
  if not loupe.is_tensor(x) or x:dim() < 2 or x:numel() ~= x:size(1) * d then
    error(("BilinearMLP: expected a batch of %d values per sample ([N, %d] or [N, ...]), got %s")
      :format(d, d, loupe.is_tensor(x) and repr.shape(x) or type(x)), 2)
  end
  local z = self.embed(x:reshape(x:size(1), d))
  for _, block in ipairs(self.blocks:children()) do
    z = self.config.residual and z + block(z) or block(z)
  end
  return self.head(z)
end

function BilinearMLP:extra_repr()
  local c = self.config
  return repr.kwargs({{"d_input", c.d_input}, {"d_hidden", c.d_hidden}, {"d_output", c.d_output},
                      {"n_layer", c.n_layer}, {"bias", c.bias}})
end

-- ---- the weights under the names the reference uses ----
-- w_e [H, D], w_u [C, H]; w_l, w_r [n_layer, H, H] and b_l, b_r [n_layer, H] (nil without
-- bias), stacked over the blocks. All are views of the parameters for a one-block model
-- (copies, detached, for deeper ones), so model.w_l[1] is the first block's left map.

local function stacked(self, half)
  local parts = {}
  for i, block in ipairs(self.blocks:children()) do
    local t = half(block)
    if t == nil then return nil end
    parts[i] = t
  end
  if #parts == 1 then return parts[1]:unsqueeze(1) end
  return loupe.no_grad(function() return loupe.stack(parts) end)
end

local function bias_half(first)
  return function(block)
    if block.bias == nil then return nil end
    local h = block.out_features
    return block.bias:narrow(1, first and 1 or h + 1, h)
  end
end

local WEIGHTS = {
  w_e = function(self) return self.embed.weight end,
  w_u = function(self) return self.head.weight end,
  w_l = function(self) return stacked(self, function(b) return b:left_weight() end) end,
  w_r = function(self) return stacked(self, function(b) return b:right_weight() end) end,
  b_l = function(self) return stacked(self, bias_half(true)) end,
  b_r = function(self) return stacked(self, bias_half(false)) end,
}

function BilinearMLP.__index(self, k)
  local w = WEIGHTS[k]
  if w then return w(self) end
  return nn.Module.__index(self, k)
end

-- ---- training (spec §2) ----

local function callable(v)
  local mt = getmetatable(v)
  return type(v) == "function" or type(mt) == "table" and mt.__call ~= nil
end

local FIT_KEYS = {"wd", "lr", "batch_size", "epochs", "seed", "augment", "log", "checkpoint",
                  "resume", "metrics", "val_batch_size", "nonfinite"}

-- model:fit(train, test [, augment | opts]): AdamW(lr, weight_decay = wd) on all parameters,
-- cosine annealing to 0 over the epochs (stepped per epoch), batches reshuffled each epoch
-- with drop_last, the generator re-seeded with the model's seed, `augment` (a transform such
-- as gaussian_noise, or function(x) -> x) on every training batch. Returns train.fit's
-- history: one record per epoch (train/loss, train/acc, val/loss, val/acc, lr, time).
function BilinearMLP:fit(train_set, val_set, opts)
  if callable(opts) then opts = {augment = opts} end
  opts = args.options(opts, FIT_KEYS, "BilinearMLP:fit")
  local c = self.config
  local epochs = args.int(opts.epochs or c.epochs, "epochs", "BilinearMLP:fit")
  local lr = positive_number(opts.lr or c.lr, "lr", "BilinearMLP:fit")
  local wd = positive_number(opts.wd or c.wd, "wd", "BilinearMLP:fit")
  local seed = opts.seed
  if seed == nil then seed = c.seed or nil end
  local augment = opts.augment
  if augment ~= nil and not callable(augment) then
    error("BilinearMLP:fit: augment must be a transform or a function(x) -> x, got " .. type(augment), 2)
  end
  local opt = loupe.optim.AdamW(self:parameters(), {lr = lr, weight_decay = wd})
  return loupe.train.fit(self, train_set, val_set, {
    epochs = epochs, batch_size = opts.batch_size or c.batch_size, drop_last = true,
    val_batch_size = opts.val_batch_size, seed = seed, optimizer = opt,
    scheduler = loupe.optim.lr_scheduler.CosineAnnealingLR(opt, {T_max = epochs}),
    augment = augment and function(x) return augment(x) end,
    log = opts.log, checkpoint = opts.checkpoint, resume = opts.resume, metrics = opts.metrics,
    nonfinite = opts.nonfinite,
  })
end

-- ---- the eigendecomposition (spec §7) ----

-- The bias-augmented maps of the spec: L' = [[W_l, b_l], [0, 1]], R' likewise,
-- U' = [W_u | 1], E' = blockdiag(W_e, 1).
local function augmented(self)
  local H, D, C = self.config.d_hidden, self.config.d_input, self.config.d_output
  local function square(w, b)
    local m = loupe.zeros(H + 1, H + 1)
    m[{{1, H}, {1, H}}] = w
    m[{{1, H}, H + 1}] = b
    m[{H + 1, H + 1}] = 1
    return m
  end
  local e = loupe.zeros(H + 1, D + 1)
  e[{{1, H}, {1, D}}] = self.w_e
  e[{H + 1, D + 1}] = 1
  local u = loupe.cat({self.w_u, loupe.ones(C, 1)}, 2)
  return e, square(self.w_l[1], self.b_l[1]), square(self.w_r[1], self.b_r[1]), u
end

-- The maps decompose works on: {w_e, w_l, w_r, w_u}, bias-augmented when asked.
local function maps(self, opts, what)
  opts = args.options(opts, {"bias"}, what)
  if self.config.n_layer ~= 1 then
    error(("%s: defined for one bilinear layer, this model has %d"):format(what, self.config.n_layer), 3)
  end
  local bias = opts.bias
  if bias == nil then bias = self.config.bias end
  if bias and not self.config.bias then
    error(what .. ": bias = true needs a model built with bias = true", 3)
  end
  if bias then return augmented(self) end
  return self.w_e, self.w_l[1], self.w_r[1], self.w_u
end

-- Q [C, H, H]: the symmetrised interaction matrix of each class,
-- Q_c = (B_c + B_c^T) / 2 with B_c[i, j] = sum_o W_u[c, o] W_l[o, i] W_r[o, j]; logit_c(x) =
-- z^T Q_c z for z = W_e x (+1 in the bias-augmented form, whose z ends with a 1).
function BilinearMLP:interaction_matrices(opts)
  return loupe.no_grad(function()
    local _, l, r, u = maps(self, opts, "interaction_matrices")
    local b = loupe.einsum("co,oi,oj->cij", u, l, r)
    return (b + b:transpose(2, 3)) * 0.5
  end)
end

-- vals [C, H] ascending and vecs [C, H, D]: vecs[c][k] = W_e^T v_{c,k}, the eigenvector of
-- vals[c][k] in input space (not re-normalised). opts.bias (default: whether the model has
-- biases) selects the bias-augmented form: then H and D are one larger, and the last input
-- coordinate of each vector is its weight on the constant 1. Each vector's sign (arbitrary
-- in an eigendecomposition) is chosen so that its entry of largest magnitude is positive.
function BilinearMLP:decompose(opts)
  return loupe.no_grad(function()
    local e, l, r, u = maps(self, opts, "decompose")
    local b = loupe.einsum("co,oi,oj->cij", u, l, r)
    local vals, v = loupe.linalg.eigh((b + b:transpose(2, 3)) * 0.5)
    local p = loupe.einsum("cek,ed->ckd", v, e)
    -- an eigenvector's sign is arbitrary: show each with its largest-magnitude pixel positive
    local peak = p:gather(3, p:abs():argmax(3):unsqueeze(3))
    return vals, p * peak:sign()
  end)
end

return {BilinearMLP = BilinearMLP, bilinear_mlp = function(opts) return BilinearMLP(opts) end}
