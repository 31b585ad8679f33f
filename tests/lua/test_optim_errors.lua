-- test_optim_errors.lua — misuse of the losses, optimizers, schedulers and clipping raises an
-- error naming the function and what is wrong (and never crashes).
local loupe = require "loupe"
local T = require "testlib"

local F = loupe.functional
local optim = loupe.optim
local S = optim.lr_scheduler

local function labels(t) return loupe.tensor(t, "int64") end
local function param(...) return loupe.randn(...):requires_grad_() end

local tests = {}

-- ---- losses ----

tests.cross_entropy_target_dtype = function()
  T.raises(function() F.cross_entropy(loupe.randn(3, 4), loupe.tensor{1, 2, 3}) end,
           "cross_entropy: target must hold int64 class labels, got float32 [3] (convert with :long())")
end

tests.cross_entropy_target_zero_is_invalid = function()
  T.raises(function() F.cross_entropy(loupe.randn(3, 4), labels{1, 0, 3}) end,
           "cross_entropy: target 0 is out of range for 4 classes (valid labels are 1..4)")
end

tests.cross_entropy_target_too_large = function()
  T.raises(function() F.cross_entropy(loupe.randn(3, 4), labels{1, 5, 3}) end,
           "target 5 is out of range for 4 classes")
  T.raises(function() F.nll_loss(loupe.randn(2, 3, 2), labels{{1, 4}, {2, 2}}) end,
           "nll_loss: target 4 is out of range for 3 classes")
end

tests.cross_entropy_shape_mismatch = function()
  T.raises(function() F.cross_entropy(loupe.randn(3, 4), labels{1, 2}) end,
           "cross_entropy: target [2] does not match input [3,4] (expected target [3])")
  T.raises(function() F.cross_entropy(loupe.randn(2, 4, 3, 3), labels{1, 2}) end,
           "target [2] does not match input [2,4,3,3] (expected target [2,3,3])")
  T.raises(function() F.cross_entropy(loupe.randn(4), labels{1}) end,
           "target [1] does not match input [4] (expected target [])")
  T.raises(function() F.cross_entropy(loupe.tensor(1.0), labels{1}) end,
           "cross_entropy: input must be [N, C, ...] or [C], got a 0-d tensor")
end

tests.cross_entropy_weight = function()
  T.raises(function() F.cross_entropy(loupe.randn(3, 4), labels{1, 2, 3}, {weight = loupe.ones(3)}) end,
           "cross_entropy: weight [3] does not match 4 classes (expected [4])")
  T.raises(function() F.cross_entropy(loupe.randn(3, 4), labels{1, 2, 3}, {weight = labels{1, 1, 1, 1}}) end,
           "cross_entropy: expected a float32 weight, got int64 [4]")
  T.raises(function() F.cross_entropy(loupe.randn(3, 4), labels{1, 2, 3}, {weight = 2}) end,
           "cross_entropy: option 'weight' must be a tensor, got number")
end

tests.cross_entropy_options = function()
  local x, t = loupe.randn(3, 4), labels{1, 2, 3}
  T.raises(function() F.cross_entropy(x, t, {label_smothing = 0.1}) end,
           "cross_entropy: unknown option 'label_smothing' (expected one of: reduction, label_smoothing, weight)")
  T.raises(function() F.cross_entropy(x, t, {reduction = "avg"}) end,
           "cross_entropy: reduction must be 'none', 'mean' or 'sum', got avg")
  T.raises(function() F.cross_entropy(x, t, {label_smoothing = 1.5}) end,
           "cross_entropy: label_smoothing must be in [0, 1], got 1.5")
  T.raises(function() F.cross_entropy(x, t, "mean") end,
           "cross_entropy: expected an options table for argument 3, got string")
  T.raises(function() F.cross_entropy(x) end, "expected a tensor for argument 2, got no value")
end

tests.cross_entropy_float_input_required = function()
  T.raises(function() F.cross_entropy(labels{{1, 2}}, labels{1}) end,
           "cross_entropy: expected a float32 input, got int64 [1,2]")
end

tests.mse_loss_misuse = function()
  T.raises(function() F.mse_loss(loupe.randn(3, 4), loupe.randn(4)) end,
           "mse_loss: input [3,4] and target [4] must have the same shape")
  T.raises(function() F.mse_loss(loupe.randn(3), labels{1, 2, 3}) end,
           "mse_loss: expected a float32 target, got int64 [3]")
  T.raises(function() F.mse_loss(loupe.randn(3), loupe.randn(3), {weight = loupe.ones(3)}) end,
           "mse_loss: unknown option 'weight' (expected one of: reduction)")
end

tests.bce_misuse = function()
  local x = loupe.randn(2, 3)
  T.raises(function() F.binary_cross_entropy_with_logits(x, loupe.rand(3)) end,
           "binary_cross_entropy_with_logits: input [2,3] and target [3] must have the same shape")
  T.raises(function() F.binary_cross_entropy_with_logits(x, loupe.rand(2, 3), {pos_weight = loupe.ones(2)}) end,
           "binary_cross_entropy_with_logits: pos_weight [2] does not broadcast to input [2,3]")
  T.raises(function() F.binary_cross_entropy_with_logits(x, loupe.rand(2, 3), {pos_weight = loupe.ones(1, 2, 3)}) end,
           "pos_weight [1,2,3] does not broadcast to input [2,3]")
  T.raises(function() F.binary_cross_entropy_with_logits(x, labels{{0, 1, 1}, {1, 0, 0}}) end,
           "binary_cross_entropy_with_logits: expected a float32 target, got int64 [2,3]")
end

-- ---- optimizers ----

tests.optimizer_unknown_options = function()
  local ps = {param(3)}
  T.raises(function() optim.SGD(ps, {lr = 0.1, momentun = 0.9}) end,
           "SGD: unknown option 'momentun' (expected one of: lr, momentum, dampening, weight_decay, nesterov)")
  T.raises(function() optim.Adam(ps, {lr = 0.1, amsgrad = true}) end,
           "Adam: unknown option 'amsgrad' (expected one of: lr, betas, eps, weight_decay)")
  T.raises(function() optim.AdamW(ps, {weight_decat = 0.1}) end,
           "AdamW: unknown option 'weight_decat'")
  T.raises(function() optim.SGD({{params = ps, learning_rate = 0.1}}, {lr = 0.1}) end,
           "SGD (parameter group): unknown option 'learning_rate'")
end

tests.optimizer_bad_values = function()
  local ps = {param(3)}
  T.raises(function() optim.SGD(ps) end, "SGD: option 'lr' is required")
  T.raises(function() optim.SGD(ps, {lr = -1}) end, "SGD: invalid lr -1 (expected a number >= 0)")
  T.raises(function() optim.SGD(ps, {lr = 0.1, nesterov = true}) end,
           "SGD: nesterov momentum requires a momentum and zero dampening")
  T.raises(function() optim.SGD(ps, {lr = 0.1, momentum = 0.9, dampening = 0.1, nesterov = true}) end,
           "nesterov momentum requires a momentum and zero dampening")
  T.raises(function() optim.Adam(ps, {betas = {0.9, 1.0}}) end,
           "Adam: invalid beta 2: 1.0 (expected 0 <= beta < 1)")
  T.raises(function() optim.Adam(ps, {betas = 0.9}) end,
           "Adam: betas must be a pair {beta1, beta2}")
  T.raises(function() optim.AdamW(ps, {eps = -1e-8}) end, "AdamW: invalid eps")
  T.raises(function() optim.SGD({{params = ps, lr = "fast"}}, {lr = 0.1}) end,
           "SGD: invalid lr fast")
end

tests.optimizer_bad_params = function()
  T.raises(function() optim.SGD({}, {lr = 0.1}) end,
           "SGD: expected a non-empty list of tensors or of parameter groups, got an empty table")
  T.raises(function() optim.SGD(nil, {lr = 0.1}) end, "got nil")
  local p = param(3)
  T.raises(function() optim.SGD({p, p}, {lr = 0.1}) end,
           "SGD: parameter 2 of group 1 appears more than once")
  T.raises(function() optim.Adam({{params = {p}}, {params = {p}}}) end,
           "Adam: parameter 1 of group 2 appears more than once")
  T.raises(function() optim.Adam({p * 2}) end,
           "Adam: can only optimize float32 leaf tensors; parameter 1 of group 1 is the result of MulBackward")
  T.raises(function() optim.Adam({labels{1, 2}}) end, "parameter 1 of group 1 is int64")
  T.raises(function() optim.Adam({p, 3}) end,
           "Adam: parameter 2 of group 1 is a number, not a tensor")
  T.raises(function() optim.Adam({{params = {}}}) end, "Adam: parameter group 1 has no params")
  local opt = optim.SGD({p}, {lr = 0.1})
  T.raises(function() opt:add_param_group({params = {p}}) end,
           "SGD: parameter 1 of group 2 appears more than once")
end

tests.kernels_check_their_arguments = function()
  local K = loupe._optim
  local p, g = param(3), loupe.randn(3)
  T.raises(function() K.adam_step(p, loupe.randn(2), loupe.zeros(3), loupe.zeros(3), {lr = 0.1, step = 1}) end,
           "adam_step: gradient [2] does not match the parameter [3]")
  T.raises(function() K.sgd_step(p, labels{1, 2, 3}, nil, {lr = 0.1, step = 1}) end,
           "sgd_step: expected a float32 gradient, got int64 [3]")
  T.raises(function() K.adam_step(p, g, loupe.zeros(3), loupe.zeros(3), {lr = 0.1, step = 0}) end,
           "adam_step: step must count from 1, got 0")
  T.raises(function() K.adam_step(p, g, loupe.zeros(2), loupe.zeros(3), {lr = 0.1, step = 1}) end,
           "adam_step: exp_avg [2] does not match the parameter [3]")
  T.raises(function() K.adam_step(p, g, loupe.zeros(3), loupe.zeros(3), {step = 1}) end,
           "adam_step: option 'lr' must be a number, got nil")
  T.raises(function() K.sgd_step(p, g, nil, {lr = 0.1, momentum = 0.9, step = 1}) end,
           "sgd_step: momentum 0.9 needs a momentum buffer")
  T.raises(function() K.sgd_step(p, g, nil, {lr = 0.1, step = 1, nesterof = true}) end,
           "sgd_step: unknown option 'nesterof'")
  T.raises(function() K.sgd_step(loupe.randn(4, 3):t():requires_grad_(), loupe.randn(3, 4), nil,
                                 {lr = 0.1, step = 1}) end,
           "sgd_step: parameter [3,4] must be contiguous")
end

-- The step writes parameters in place (allowed on leaves that require grad, under grad
-- mode) and bumps their version, so a graph that saved a parameter refuses to backpropagate.
tests.step_invalidates_graphs_that_saved_parameters = function()
  local p = param(3)
  local y = (p * p):sum()
  local opt = optim.SGD({p}, {lr = 0.1})
  p.grad = loupe.ones(3)
  opt:step()
  T.raises(function() y:backward() end, "modified by an in-place operation")
end

tests.load_state_dict_mismatch = function()
  local a = optim.Adam({param(3), param(2)})
  local b = optim.Adam({param(3)})
  T.raises(function() b:load_state_dict(a:state_dict()) end,
           "Adam.load_state_dict: parameter group 1 has 2 parameters in the state, 1 in the optimizer")
  T.raises(function() b:load_state_dict({}) end,
           "Adam.load_state_dict: expected a table with param_groups")
  local p = param(3)
  local c = optim.Adam({p})
  p.grad = loupe.ones(3)
  c:step()
  local d = optim.Adam({param(4)})
  T.raises(function() d:load_state_dict(c:state_dict()) end,
           "of parameter 1 has shape [3], the parameter [4]") -- exp_avg or exp_avg_sq
end

tests.flatten_state_misuse = function()
  T.raises(function() optim.flatten_state({x = function() end}) end,
           "flatten_state: cannot store 'optim.x' (a function)")
  T.raises(function() optim.flatten_state({["a.b"] = 1}) end,
           "flatten_state: key 'optim.a.b' would not read back")
  T.raises(function() optim.unflatten_state({}, {["optim.x"] = "what"}) end,
           "unflatten_state: cannot read 'optim.x' = 'what'")
end

-- ---- schedulers and clipping ----

tests.scheduler_misuse = function()
  local opt = optim.SGD({param(3)}, {lr = 0.1, momentum = 0.9})
  T.raises(function() S.StepLR(opt, {step_size = 2, gama = 0.5}) end,
           "StepLR: unknown option 'gama' (expected one of: step_size, gamma)")
  T.raises(function() S.StepLR(opt) end, "StepLR: step_size must be a positive integer, got nil")
  T.raises(function() S.CosineAnnealingLR(opt, {T_max = 0}) end,
           "CosineAnnealingLR: T_max must be a positive integer, got 0")
  T.raises(function() S.CosineAnnealingLR({}, {T_max = 3}) end,
           "CosineAnnealingLR: expected an optimizer, got table")
  T.raises(function() S.LinearLR(opt, {start_factor = 0}) end,
           "LinearLR: start_factor must be in (0, 1], got 0")
  T.raises(function() S.OneCycleLR(opt, {total_steps = 10}) end,
           "OneCycleLR: option 'max_lr' is required")
  T.raises(function() S.OneCycleLR(opt, {max_lr = 0.1}) end,
           "OneCycleLR: give total_steps, or epochs and steps_per_epoch")
  T.raises(function() S.OneCycleLR(opt, {max_lr = {0.1, 0.2}, total_steps = 10}) end,
           "OneCycleLR: expected 1 values for max_lr, got 2")
  T.raises(function() S.OneCycleLR(opt, {max_lr = 0.1, total_steps = 10, anneal_strategy = "exp"}) end,
           "OneCycleLR: anneal_strategy must be 'cos' or 'linear', got 'exp'")
  local s = S.OneCycleLR(opt, {max_lr = 0.1, total_steps = 3})
  for _ = 1, 3 do s:step() end
  T.raises(function() s:step() end, "OneCycleLR: tried to step 5 times; total_steps is 3")
  local a = S.LinearLR(opt)
  T.raises(function() S.SequentialLR(opt, {schedulers = {a}, milestones = {3}}) end,
           "SequentialLR: expected 0 milestones for 1 schedulers, got 1")
  local other = optim.SGD({param(2)}, {lr = 0.1})
  T.raises(function() S.SequentialLR(other, {schedulers = {a}}) end,
           "SequentialLR: scheduler 1 does not belong to this optimizer")
end

tests.clip_grad_norm_misuse = function()
  local p = param(3)
  p.grad = loupe.tensor{1, 0 / 0, 2}
  T.raises(function() optim.clip_grad_norm_({p}, 1.0, 2, true) end,
           "clip_grad_norm_: the total norm of order 2 of the gradients is non-finite")
  T.raises(function() optim.clip_grad_norm_({p}, 1.0, -1) end,
           "clip_grad_norm_: norm_type must be a positive number or 'inf', got -1")
  T.raises(function() optim.clip_grad_norm_({p, "w"}, 1.0) end,
           "clip_grad_norm_: parameter 2 is a string, not a tensor")
  T.eq(optim.clip_grad_norm_({param(2)}, 1.0):item(), 0.0, "no gradients: total norm 0")
end

return tests
