-- train/checkpoint.lua — a training run's whole state in ONE safetensors file, so that
-- loupe.train.fit can resume bit-identically after an interruption.
--
-- Tensors: "model.<key>" for every entry of model:state_dict() (parameters and buffers),
-- "optim.<...>" and "sched.<...>" for the optimizer's and scheduler's state tensors
-- (loupe.optim.flatten_state naming). Metadata (strings): "format" = FORMAT, "epoch" (the
-- number of completed epochs), "rng.seed" / "rng.counter" (loupe.get_rng_state() after that
-- epoch), the optimizer's and scheduler's other state under "optim." / "sched.", and the
-- history under "history.<epoch>.<field>" — all numbers written with 17 significant digits by
-- flatten_state, so they read back exactly. loupe.save writes the file atomically (a
-- temporary in the same folder, fsync, rename): an interruption, even a kill -9, leaves the
-- previous checkpoint intact. Restoring runs under loupe.uninterruptible, so a Ctrl-C cannot
-- leave a model half-loaded.
local loupe = require "loupe"

local M = {}

M.FORMAT = "loupe.train/1"

local function merge(dst, src)
  for k, v in pairs(src) do dst[k] = v end
end

-- run = {model, optimizer, scheduler (or nil), epoch, history}
function M.save(path, run)
  local optim = loupe.optim
  local tensors, meta = {}, {}
  for k, t in pairs(run.model:state_dict()) do tensors["model." .. k] = t end
  local t, m = optim.flatten_state(run.optimizer:state_dict(), "optim.")
  merge(tensors, t)
  merge(meta, m)
  if run.scheduler then
    t, m = optim.flatten_state(run.scheduler:state_dict(), "sched.")
    merge(tensors, t)
    merge(meta, m)
  end
  t, m = optim.flatten_state(run.history, "history.")
  merge(meta, m)
  local rng = loupe.get_rng_state()
  meta["rng.seed"], meta["rng.counter"] = ("%d"):format(rng[1]), ("%d"):format(rng[2])
  meta.format = M.FORMAT
  meta.epoch = ("%d"):format(run.epoch)
  loupe.save(path, tensors, meta)
end

local function has_prefix(tbl, prefix)
  for k in pairs(tbl) do
    if k:sub(1, #prefix) == prefix then return true end
  end
  return false
end

-- Restores model, optimizer, scheduler and the generator from path; returns the number of
-- completed epochs and the history. Errors (level counted from the caller) name the file.
function M.load(path, run, level)
  local optim = loupe.optim
  local tensors, meta = loupe.load(path)
  if meta.format ~= M.FORMAT then
    error(("fit: '%s' is not a loupe.train checkpoint (format %s, expected %s)"):format(
      path, tostring(meta.format), M.FORMAT), level + 1)
  end
  local epoch = math.tointeger(tonumber(meta.epoch))
  local seed, counter = math.tointeger(tonumber(meta["rng.seed"])), math.tointeger(tonumber(meta["rng.counter"]))
  if not epoch or not seed or not counter then
    error(("fit: checkpoint '%s' lacks its epoch or generator state"):format(path), level + 1)
  end
  local has_sched = has_prefix(meta, "sched.") or has_prefix(tensors, "sched.")
  if has_sched ~= (run.scheduler ~= nil) then
    error(("fit: checkpoint '%s' %s scheduler state, but fit was %s a scheduler"):format(
      path, has_sched and "holds" or "has no", has_sched and "not given" or "given"), level + 1)
  end
  local sd = {}
  for k, t in pairs(tensors) do
    if k:sub(1, 6) == "model." then sd[k:sub(7)] = t end
  end
  local history = optim.unflatten_state(nil, meta, "history.")
  local list = {}
  for e = 1, epoch do list[e] = history[e] end
  local ok, err = loupe.uninterruptible(pcall, function()
    run.model:load_state_dict(sd)
    run.optimizer:load_state_dict(optim.unflatten_state(tensors, meta, "optim."))
    if run.scheduler then run.scheduler:load_state_dict(optim.unflatten_state(tensors, meta, "sched.")) end
    loupe.set_rng_state({seed, counter})
  end)
  if not ok then
    error(("fit: cannot resume from '%s' (a different model or optimizer?): %s"):format(path, tostring(err)), level + 1)
  end
  return epoch, list
end

return M
