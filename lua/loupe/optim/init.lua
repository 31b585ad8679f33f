-- loupe.optim — optimizers, learning-rate schedulers, gradient clipping and checkpointable
-- state, as torch.optim (1.13). Loaded on first use of loupe.optim.
--
--   local optim = loupe.optim
--   local opt = optim.AdamW(model:parameters(), {lr = 1e-3, weight_decay = 0.5})
--   local opt = optim.SGD({{params = backbone, lr = 1e-3}, {params = head}},
--                         {lr = 0.1, momentum = 0.9})       -- parameter groups
--   local sched = optim.lr_scheduler.CosineAnnealingLR(opt, {T_max = epochs})
--   for each batch: opt:zero_grad(); loss:backward(); optim.clip_grad_norm_(ps, 1.0); opt:step()
--   after each epoch: sched:step()
--
-- Optimizers (sgd.lua, adam.lua; base in optimizer.lua):
--   SGD(params, {lr, momentum = 0, dampening = 0, weight_decay = 0, nesterov = false})
--   Adam(params, {lr = 1e-3, betas = {0.9, 0.999}, eps = 1e-8, weight_decay = 0})
--   AdamW(params, {lr = 1e-3, betas = {0.9, 0.999}, eps = 1e-8, weight_decay = 1e-2})
--   params: a list of tensors, or a list of groups {params = {...}, <option> = ...} whose
--   options override the defaults. Tensors without a .grad at step time are skipped (a frozen
--   backbone can also simply be left out). An unknown option is an error naming it.
--   opt:step([closure]), opt:zero_grad() (sets .grad to nil), opt.param_groups (schedulers
--   and scripts change their lr), opt:add_param_group(group), opt.state[p].
--
-- Checkpoints:
--   opt:state_dict() -> {state = {[i] = {step = n, exp_avg = t, exp_avg_sq = t} or
--                                       {momentum_buffer = t}},
--                        param_groups = {{lr = ..., betas = {...}, ..., params = {i, ...}}}}
--     parameters numbered 1.. across the groups in order (torch numbers them from 0)
--   opt:load_state_dict(sd), sched:state_dict(), sched:load_state_dict(sd)
--   flatten_state(sd [, prefix = "optim."]) -> tensors, metadata: dotted names, tensors apart,
--     every number/boolean/string as a metadata string, ready for loupe.save (state.lua)
--   unflatten_state(tensors, metadata [, prefix]) -> sd, the inverse (other names ignored)
--   e.g. save: local t, m = optim.flatten_state(opt:state_dict())
--              local ts, ms = optim.flatten_state(sched:state_dict(), "sched.")
--              (merge ts/ms and the model's tensors into t/m) loupe.save(path, t, m)
--        load: local t, m = loupe.load(path)
--              opt:load_state_dict(optim.unflatten_state(t, m))
--              sched:load_state_dict(optim.unflatten_state(t, m, "sched."))
--
-- Schedulers (lr_scheduler.lua): StepLR, CosineAnnealingLR, LinearLR, OneCycleLR,
--   SequentialLR; each with step(), get_last_lr(), state_dict(), load_state_dict().
-- Clipping (clip.lua): clip_grad_norm_(params, max_norm [, norm_type = 2]) -> total norm (0-d).
local adam = require "loupe.optim.adam"
local state = require "loupe.optim.state"

return {
  Optimizer = require "loupe.optim.optimizer",
  SGD = require "loupe.optim.sgd",
  Adam = adam.Adam,
  AdamW = adam.AdamW,
  lr_scheduler = require "loupe.optim.lr_scheduler",
  clip_grad_norm_ = require "loupe.optim.clip",
  flatten_state = state.flatten_state,
  unflatten_state = state.unflatten_state,
}
