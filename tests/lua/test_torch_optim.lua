-- test_torch_optim.lua — losses, optimizers, schedulers and gradient clipping against
-- PyTorch. tests/fixtures/torch_optim.safetensors was written once by
-- tests/fixtures/gen_torch_optim.py (see its header for the naming); every case there has a
-- case of the same name here, and a final test checks that the two lists agree.
--
-- Tolerances:
--  * losses (TOL = 1e-5, relative with an absolute floor of 1e-5, testlib.close): the
--    reference is float64 rounded once; loupe works per position in double and rounds once.
--  * optimizers (TOL): torch's float32 arithmetic is reproduced operation by operation, so
--    the parameters differ by float32 rounding only (a few ulps of values ~1, ~1e-7). Adam
--    and AdamW normalise the update to about lr per element whatever the gradient's scale,
--    so an error in m / (sqrt(v_hat) + eps) shows up in the parameters at the size of lr;
--    the cases use lr = 0.1 or 0.05 (one spec case 1e-3) so that the absolute 1e-5 floor is
--    1e-4 of a step or less, and adam_small_grads (gradients ~1e-8, sqrt(v_hat) ~ eps) checks
--    where eps enters. The moment estimates are compared too.
--  * learning rates (RTOL_LR = 1e-6, purely relative: lrs go down to 1e-7): the fixture
--    stores them rounded to float32 (6e-8 relative).
local loupe = require "loupe"
local T = require "testlib"

local FIXTURE = "tests/fixtures/torch_optim.safetensors"
local TOL = 1e-5
local RTOL_LR = 1e-6
local F = loupe.functional
local optim = loupe.optim
local S = optim.lr_scheduler

local ok_load, fixture = pcall(loupe.load, FIXTURE)

-- case name -> {what -> tensor}
local ref = {}
if ok_load then
  for key, t in pairs(fixture) do
    local name, what = key:match("^([^.]+)%.(.+)$")
    ref[name] = ref[name] or {}
    ref[name][what] = t
  end
end

local function fixture_case(name)
  assert(ok_load, "cannot load " .. FIXTURE .. ": " .. tostring(fixture))
  local c = ref[name]
  assert(c, "case " .. name .. " is missing from " .. FIXTURE .. " (rerun gen_torch_optim.py)")
  return c
end

-- ---- losses: name -> function(in1, in2, ...) ----

local losses = {}
local function loss(name, fn) losses["loss_" .. name] = fn end

for _, red in ipairs{"none", "mean", "sum"} do
  loss("ce_" .. red, function(x, t) return F.cross_entropy(x, t, {reduction = red}) end)
  loss("ce_smooth_" .. red, function(x, t)
    return F.cross_entropy(x, t, {reduction = red, label_smoothing = 0.1})
  end)
  loss("ce_weight_" .. red, function(x, t, w)
    return F.cross_entropy(x, t, {weight = w, reduction = red})
  end)
  loss("ce_weight_smooth_" .. red, function(x, t, w)
    return F.cross_entropy(x, t, {weight = w, reduction = red, label_smoothing = 0.1})
  end)
  loss("ce_4d_" .. red, function(x, t) return F.cross_entropy(x, t, {reduction = red}) end)
  loss("nll_" .. red, function(x, t) return F.nll_loss(x, t, {reduction = red}) end)
  loss("nll_weight_" .. red, function(x, t, w) return F.nll_loss(x, t, {weight = w, reduction = red}) end)
  loss("mse_" .. red, function(a, b) return F.mse_loss(a, b, {reduction = red}) end)
  loss("bce_" .. red, function(x, y)
    return F.binary_cross_entropy_with_logits(x, y, {reduction = red})
  end)
  loss("bce_pos_weight_" .. red, function(x, y, pw)
    return F.binary_cross_entropy_with_logits(x, y, {pos_weight = pw, reduction = red})
  end)
end
loss("ce_4d_weight_smooth_mean", function(x, t, w)
  return F.cross_entropy(x, t, {weight = w, label_smoothing = 0.1})
end)
loss("ce_3d_smooth_sum", function(x, t)
  return F.cross_entropy(x, t, {reduction = "sum", label_smoothing = 0.2})
end)
loss("ce_unbatched", function(x, t) return F.cross_entropy(x, t) end)
loss("ce_large_logits", function(x, t) return F.cross_entropy(x, t, {reduction = "none"}) end)
loss("nll_4d_weight_mean", function(x, t, w) return F.nll_loss(x, t, {weight = w}) end)
loss("bce_large_logits", function(x, y)
  return F.binary_cross_entropy_with_logits(x, y, {reduction = "none"})
end)
loss("bce_pos_weight_bcast_2d", function(x, y, pw)
  return F.binary_cross_entropy_with_logits(x, y, {pos_weight = pw})
end)

local function run_loss(name)
  local c = fixture_case(name)
  local ins, k = {}, 1
  while c["in" .. k] do
    local x = c["in" .. k]:clone()
    if c["grad" .. k] then x:requires_grad_() end
    ins[k] = x
    k = k + 1
  end
  local out = losses[name](table.unpack(ins))
  T.close(out, c.out, TOL, name .. ": loss")
  T.eq(out:grad_fn() ~= nil, true, name .. ": has a grad_fn")
  ;(out * c.w):sum():backward()
  for i = 1, #ins do
    if c["grad" .. i] then
      T.truthy(ins[i].grad, name .. ": no gradient for input " .. i)
      T.close(ins[i].grad, c["grad" .. i], TOL, name .. ": gradient of input " .. i)
    end
  end
end

-- ---- optimizers: name -> function(params) -> optimizer ----

local STEPS = 5
local optims = {
  opt_sgd_plain = function(ps) return optim.SGD(ps, {lr = 0.1}) end,
  opt_sgd_momentum = function(ps) return optim.SGD(ps, {lr = 0.1, momentum = 0.9}) end,
  opt_sgd_dampening = function(ps) return optim.SGD(ps, {lr = 0.1, momentum = 0.9, dampening = 0.3}) end,
  opt_sgd_nesterov = function(ps) return optim.SGD(ps, {lr = 0.1, momentum = 0.9, nesterov = true}) end,
  opt_sgd_weight_decay = function(ps)
    return optim.SGD(ps, {lr = 0.1, momentum = 0.9, weight_decay = 0.05})
  end,
  opt_sgd_plain_weight_decay = function(ps) return optim.SGD(ps, {lr = 0.1, weight_decay = 0.05}) end,
  opt_sgd_groups = function(ps)
    return optim.SGD({{params = {ps[1]}}, {params = {ps[2]}, lr = 0.01, momentum = 0.5}},
                     {lr = 0.1, momentum = 0.9})
  end,
  opt_sgd_skip = function(ps) return optim.SGD(ps, {lr = 0.1, momentum = 0.9}) end,
  opt_adam = function(ps) return optim.Adam(ps, {lr = 0.1}) end,
  opt_adam_weight_decay = function(ps) return optim.Adam(ps, {lr = 0.1, weight_decay = 0.1}) end,
  opt_adam_betas_eps = function(ps) return optim.Adam(ps, {lr = 0.1, betas = {0.8, 0.99}, eps = 1e-6}) end,
  opt_adam_skip = function(ps) return optim.Adam(ps, {lr = 0.1}) end,
  opt_adam_small_grads = function(ps) return optim.Adam(ps, {lr = 0.1}) end,
  opt_adamw = function(ps) return optim.AdamW(ps, {lr = 0.1}) end,
  opt_adamw_wd1 = function(ps) return optim.AdamW(ps, {lr = 0.05, weight_decay = 1.0}) end,
  opt_adamw_bilinear_spec = function(ps) return optim.AdamW(ps, {lr = 1e-3, weight_decay = 1.0}) end,
  opt_adamw_groups = function(ps)
    return optim.AdamW({{params = {ps[1]}, weight_decay = 0.0}, {params = {ps[2]}, lr = 0.01}},
                       {lr = 0.1, weight_decay = 0.5})
  end,
}

local function fresh_params(c)
  return {c["init.p1"]:clone():requires_grad_(), c["init.p2"]:clone():requires_grad_()}
end

-- Runs steps first..last of case c on ps with opt, checking the parameters after each.
local function run_steps(name, c, opt, ps, first, last)
  for t = first, last do
    for i, p in ipairs(ps) do p.grad = c[("grad.%d.p%d"):format(t, i)] end
    opt:step()
    for i, p in ipairs(ps) do
      T.close(p, c[("param.%d.p%d"):format(t, i)], TOL, ("%s: p%d after step %d"):format(name, i, t))
    end
  end
end

local function run_optim(name)
  local c = fixture_case(name)
  local ps = fresh_params(c)
  local opt = optims[name](ps)
  run_steps(name, c, opt, ps, 1, STEPS)
  for what, t in pairs(c) do
    local key, i = what:match("^state%.(.+)%.p(%d)$")
    if key then
      local st = opt.state[ps[tonumber(i)]]
      T.truthy(st and st[key], ("%s: no state %s for p%s"):format(name, key, i))
      T.close(st[key], t, TOL, ("%s: state %s of p%s"):format(name, key, i))
    end
  end
end

-- ---- schedulers: name -> {make(opt) -> scheduler, kind, steps} ----

local scheds = {
  sched_step_lr = {function(o) return S.StepLR(o, {step_size = 3, gamma = 0.5}) end},
  sched_cosine = {function(o) return S.CosineAnnealingLR(o, {T_max = 20}) end},
  sched_cosine_eta_min = {function(o) return S.CosineAnnealingLR(o, {T_max = 10, eta_min = 0.001}) end,
                          steps = 25},
  sched_linear_warmup = {function(o) return S.LinearLR(o, {start_factor = 0.1, total_iters = 5}) end},
  sched_linear_defaults = {function(o) return S.LinearLR(o) end},
  sched_linear_decay = {function(o)
    return S.LinearLR(o, {start_factor = 1.0, end_factor = 0.05, total_iters = 15})
  end},
  sched_onecycle = {function(o) return S.OneCycleLR(o, {max_lr = 0.1, total_steps = 20}) end},
  sched_onecycle_adam_linear_three_phase = {function(o)
    return S.OneCycleLR(o, {max_lr = 0.2, total_steps = 20, pct_start = 0.25,
                            anneal_strategy = "linear", three_phase = true})
  end, kind = "adam"},
  sched_onecycle_no_momentum = {function(o)
    return S.OneCycleLR(o, {max_lr = {0.1, 0.02}, total_steps = 20, div_factor = 10,
                            final_div_factor = 100, cycle_momentum = false})
  end},
  sched_sequential_warmup_cosine = {function(o)
    return S.SequentialLR(o, {schedulers = {S.LinearLR(o, {start_factor = 0.1, total_iters = 5}),
                                            S.CosineAnnealingLR(o, {T_max = 15})},
                              milestones = {5}})
  end},
}

local function sched_optimizer(kind)
  local groups = {{params = {loupe.zeros(2):requires_grad_()}},
                  {params = {loupe.zeros(3):requires_grad_()}, lr = 0.01}}
  if kind == "adam" then return optim.Adam(groups, {lr = 0.1}) end
  return optim.SGD(groups, {lr = 0.1, momentum = 0.9})
end

local function momenta(opt)
  local m = {}
  for i, g in ipairs(opt.param_groups) do m[i] = g.momentum or g.betas[1] end
  return m
end

-- Relative comparison of two lists of numbers (learning rates span 1e-1 .. 1e-7).
local function rel_close(a, b, what)
  T.eq(#a, #b, what .. ": length")
  for i = 1, #b do
    if not (math.abs(a[i] - b[i]) <= RTOL_LR * math.abs(b[i]) + 1e-12) then
      error(("%s[%d]: %.9g vs %.9g"):format(what, i, a[i], b[i]), 2)
    end
  end
end

-- Checks epochs from..to of case `name` (stepping before each but epoch 0); `label` names the
-- run in messages. Returns the case's last epoch.
local function run_sched(name, label, from, to, s, opt)
  local c = fixture_case(name)
  local lr, mom = c.lr:totable(), c.momentum and c.momentum:totable()
  for e = from, to do
    if e > 0 then
      opt:step()
      s:step()
    end
    rel_close(s:get_last_lr(), lr[e + 1], ("%s: lr at epoch %d"):format(label, e))
    for i, g in ipairs(opt.param_groups) do
      rel_close({g.lr}, {lr[e + 1][i]}, ("%s: group %d lr at epoch %d"):format(label, i, e))
    end
    if mom then rel_close(momenta(opt), mom[e + 1], ("%s: momentum at epoch %d"):format(label, e)) end
  end
  return #lr - 1
end

-- ---- clipping: name -> {max_norm, norm_type} ----

local clips = {
  clip_l2 = {1.0, 2}, clip_l2_no_clip = {100.0, 2}, clip_inf = {0.5, "inf"}, clip_l1 = {2.0, 1},
  clip_l3 = {1.0, 3},
}

local function run_clip(name)
  local c = fixture_case(name)
  local ps = {loupe.zeros(3, 4):requires_grad_(), loupe.zeros(5):requires_grad_()}
  for i, p in ipairs(ps) do p.grad = c["grad.p" .. i]:clone() end
  local total = optim.clip_grad_norm_(ps, clips[name][1], clips[name][2])
  T.eq(total:dim(), 0, name .. ": total norm is 0-d")
  T.close(total, c.total_norm, TOL, name .. ": total norm")
  for i, p in ipairs(ps) do T.close(p.grad, c["clipped.p" .. i], TOL, name .. ": clipped grad " .. i) end
end

-- ---- tests ----

local tests = {}
for name in pairs(losses) do tests[name] = function() run_loss(name) end end
for name in pairs(optims) do tests[name] = function() run_optim(name) end end
for name, sc in pairs(scheds) do
  tests[name] = function()
    local opt = sched_optimizer(sc.kind)
    local s = sc[1](opt)
    local c = fixture_case(name)
    run_sched(name, name, 0, c.lr:size(1) - 1, s, opt)
  end
end
for name in pairs(clips) do tests[name] = function() run_clip(name) end end

tests.fixture_and_cases_agree = function()
  assert(ok_load, "cannot load " .. FIXTURE .. ": " .. tostring(fixture))
  local missing = {}
  local all = {}
  for _, list in ipairs{losses, optims, scheds, clips} do
    for name in pairs(list) do all[name] = true end
  end
  for name in pairs(ref) do
    if not all[name] then missing[#missing + 1] = name .. " (no Lua case)" end
  end
  for name in pairs(all) do
    if not ref[name] then missing[#missing + 1] = name .. " (not in the fixture)" end
  end
  table.sort(missing)
  if #missing > 0 then error("cases out of step: " .. table.concat(missing, ", ")) end
end

-- Resuming from a checkpoint: 3 steps, state_dict -> flatten -> safetensors file -> load ->
-- unflatten -> a new optimizer over the saved parameters, 2 more steps: PyTorch's 5 steps.
local function checkpoint_roundtrip(name)
  local c = fixture_case(name)
  local ps = fresh_params(c)
  local opt = optims[name](ps)
  run_steps(name, c, opt, ps, 1, 3)
  local path = os.tmpname()
  local tensors, meta = optim.flatten_state(opt:state_dict())
  tensors["model.p1"], tensors["model.p2"] = ps[1], ps[2]
  loupe.save(path, tensors, meta)
  local t, m = loupe.load(path)
  os.remove(path)
  local ps2 = {t["model.p1"]:requires_grad_(), t["model.p2"]:requires_grad_()}
  local opt2 = optims[name](ps2)
  opt2:load_state_dict(optim.unflatten_state(t, m))
  run_steps(name .. " (resumed)", c, opt2, ps2, 4, STEPS)
end

tests.checkpoint_adamw = function() checkpoint_roundtrip("opt_adamw_wd1") end
tests.checkpoint_sgd_nesterov = function() checkpoint_roundtrip("opt_sgd_nesterov") end
tests.checkpoint_sgd_groups = function() checkpoint_roundtrip("opt_sgd_groups") end
tests.checkpoint_adam_skip = function() checkpoint_roundtrip("opt_adam_skip") end

-- A scheduler and its optimizer's lr/momentum fields resumed half-way through a schedule.
local function sched_roundtrip(name, at)
  local sc = scheds[name]
  local opt = sched_optimizer(sc.kind)
  local s = sc[1](opt)
  local total = run_sched(name, name, 0, at, s, opt)
  local t1, m1 = optim.flatten_state(opt:state_dict())
  local t2, m2 = optim.flatten_state(s:state_dict(), "sched.")
  for k, v in pairs(m2) do m1[k] = v end
  for k, v in pairs(t2) do t1[k] = v end
  local opt2 = sched_optimizer(sc.kind)
  local s2 = sc[1](opt2)
  opt2:load_state_dict(optim.unflatten_state(t1, m1))
  s2:load_state_dict(optim.unflatten_state(t1, m1, "sched."))
  run_sched(name, name .. " (resumed)", at + 1, total, s2, opt2)
end

tests.checkpoint_onecycle = function() sched_roundtrip("sched_onecycle", 7) end
tests.checkpoint_sequential = function() sched_roundtrip("sched_sequential_warmup_cosine", 8) end
tests.checkpoint_cosine = function() sched_roundtrip("sched_cosine_eta_min", 12) end

-- Sizes above the kernels' threading threshold (32768 elements): the parallel paths agree
-- with compositions of the basic ops, and give identical bits for any thread count.
local function with_threads(n, fn)
  local old = loupe.get_num_threads()
  loupe.set_num_threads(n)
  local ok, a, b = pcall(fn)
  loupe.set_num_threads(old)
  if not ok then error(a, 0) end
  return a, b
end

tests.large_cross_entropy_matches_composition = function()
  loupe.manual_seed(11)
  local N, C, eps = 300, 200, 0.1
  local x0, t, w = loupe.randn(N, C) * 3, loupe.randint(1, C + 1, {N}), loupe.rand(C) + 0.5
  local function fused()
    local x = x0:clone():requires_grad_()
    local l = F.cross_entropy(x, t, {weight = w, label_smoothing = eps})
    l:backward()
    return l, x.grad
  end
  local l1, g1 = with_threads(1, fused)
  local l2, g2 = with_threads(2, fused)
  T.truthy(l1:equal(l2) and g1:equal(g2), "thread count changed the result")
  local x = x0:clone():requires_grad_()
  local lp = x:log_softmax(2)
  local wt = w:index_select(1, t)
  local nll = -lp:gather(2, t:view(N, 1)):view(N) * wt
  local smooth = -(lp * w):sum(2)
  local l = ((nll * (1 - eps) + smooth * (eps / C)):sum()) / wt:sum()
  l:backward()
  T.close(l1, l, TOL, "loss")
  T.close(g1, x.grad, TOL, "gradient")
end

tests.large_elementwise_losses_are_thread_invariant = function()
  loupe.manual_seed(12)
  local a, b, y = loupe.randn(200, 300), loupe.randn(200, 300), loupe.rand(200, 300)
  local pw = loupe.rand(300) + 0.5
  local function run()
    local x1, x2 = a:clone():requires_grad_(), b:clone():requires_grad_()
    local l = F.mse_loss(x1, x2) + F.binary_cross_entropy_with_logits(x1, y, {pos_weight = pw})
    l:backward()
    return l, x1.grad + x2.grad * 3
  end
  local l1, g1 = with_threads(1, run)
  local l2, g2 = with_threads(2, run)
  T.truthy(l1:equal(l2) and g1:equal(g2), "thread count changed the result")
end

tests.large_adam_step_matches_formula = function()
  loupe.manual_seed(13)
  local n, lr, b1, b2, eps, wd = 100000, 0.01, 0.9, 0.999, 1e-8, 0.1
  local p0, g = loupe.randn(n), loupe.randn(n)
  local function run()
    local p = p0:clone():requires_grad_()
    local opt = optim.AdamW({p}, {lr = lr, weight_decay = wd})
    for _ = 1, 2 do
      p.grad = g
      opt:step()
    end
    return p:detach()
  end
  local p1 = with_threads(1, run)
  T.truthy(p1:equal(with_threads(2, run)), "thread count changed the result")
  local p, m, v = p0:clone(), loupe.zeros(n), loupe.zeros(n)
  for step = 1, 2 do
    p = p * (1 - lr * wd)
    m = m * b1 + g * (1 - b1)
    v = v * b2 + g * g * (1 - b2)
    local denom = v:sqrt() / math.sqrt(1 - b2 ^ step) + eps
    p = p - m / denom * (lr / (1 - b1 ^ step))
  end
  T.close(p1, p, TOL, "parameters after two AdamW steps")
end

-- zero_grad clears .grad; parameters without a gradient (a frozen backbone) do not move and
-- get no state; a closure is run with grad mode on and its loss returned; a group added later
-- takes the defaults it does not override.
tests.optimizer_api = function()
  local frozen, head = loupe.ones(3), loupe.ones(2):requires_grad_()
  local opt = optim.SGD({frozen, head}, {lr = 0.5, momentum = 0.9})
  local loss = loupe.no_grad(function()
    return opt:step(function()
      opt:zero_grad()
      local l = (head * head):sum()
      l:backward()
      return l
    end)
  end)
  T.close(loss:item(), 2, 1e-6, "closure loss")
  T.close(head, {0, 0}, 1e-6, "head after one step") -- 1 - 0.5 * 2
  T.truthy(frozen:equal(loupe.ones(3)), "frozen parameter moved")
  T.eq(opt.state[frozen], nil, "state of the frozen parameter")
  opt:zero_grad()
  T.eq(head.grad, nil, "grad after zero_grad")
  local extra = loupe.ones(4):requires_grad_()
  opt:add_param_group({params = {extra}, lr = 0.1})
  T.eq(#opt.param_groups, 2, "groups")
  T.eq(opt.param_groups[2].momentum, 0.9, "default momentum in the new group")
  extra.grad = loupe.ones(4)
  opt:step()
  T.close(extra, loupe.full({4}, 0.9), 1e-6, "new group's parameter")
end

-- The bilinear spec's schedule: epoch e of 100 has lr 1e-3 (1 + cos(pi e / 100)) / 2; the last
-- epoch's is 2.47e-7.
tests.cosine_matches_bilinear_spec = function()
  local opt = optim.AdamW({loupe.zeros(2):requires_grad_()}, {lr = 1e-3, weight_decay = 1.0})
  local s = S.CosineAnnealingLR(opt, {T_max = 100})
  for e = 0, 99 do
    if e > 0 then s:step() end
    local want = 1e-3 * (1 + math.cos(math.pi * e / 100)) / 2
    rel_close({opt.param_groups[1].lr}, {want}, "epoch " .. e)
  end
  T.truthy(math.abs(opt.param_groups[1].lr - 2.47e-7) < 0.005e-7, "last epoch lr")
end

return tests
