-- train.lua — loupe.train: the training loop of a classifier, with checkpoints that resume
-- bit-identically. Loaded lazily as loupe.train.
--
--   local history = loupe.train.fit(model, train_set, val_set, {
--     epochs = 20, batch_size = 2048,
--     optimizer = opt,              -- default loupe.optim.AdamW(model:parameters()) (lr 1e-3)
--     scheduler = sched,            -- optional, e.g. CosineAnnealingLR(opt, {T_max = 20})
--     scheduler_interval = "epoch", -- or "step": sched:step() after every optimizer step
--     augment = function(x, y) return x + 0.5 * loupe.randn_like(x) end,  -- training batches
--     loss = loupe.functional.cross_entropy,  -- loss(logits, y) -> mean over the batch
--     metrics = {acc = fn},         -- name -> fn(logits, y) -> batch mean (number or 0-d
--                                   -- tensor); accuracy is there by default (acc = false
--                                   -- removes it)
--     checkpoint = "out/run.safetensors", resume = true,
--     drop_last = false, shuffle = true, seed = 420, val_batch_size = batch_size,
--     nonfinite = "error",          -- or "skip": a batch whose loss is NaN or infinite
--                                   -- updates nothing and counts in train/skipped
--     log = true,                   -- false: silent; a function(line, record): yours
--                                   -- (record is nil for the "resumed from" line); true on
--                                   -- a terminal: progress bars (loupe.progress) instead
--   })
--
-- Datasets: fields x (uint8 or float32 [N, ...]) and y (int64 [N], 1-based labels), or a
-- :loader{batch_size, shuffle, drop_last} method returning an iterator of (x, y) batches
-- (loupe/train/data.lua has the protocol). val_set may be nil.
--
-- Each epoch: model:train(); a fresh permutation from the seeded generator; per batch
-- augment(x, y) (its result replaces x), forward, loss, backward, optimizer step, zero_grad
-- (and a scheduler step with scheduler_interval = "step"); then validation over the whole
-- val_set under no_grad in eval mode; then the scheduler step (interval "epoch"); then the
-- checkpoint. This follows BILINEAR_SPEC.md §2: seed re-applied at the start of fit, train
-- loss and metrics the unweighted mean over the epoch's batches of the batch values computed
-- with the pre-update weights (on the augmented batch), val loss and metrics the mean over
-- all val samples (batch values weighted by batch size; the loss is assumed to be a batch
-- mean).
--
-- Returns the history, one record per epoch:
--   {epoch = 1, ["train/loss"] = ..., ["train/acc"] = ..., ["val/loss"] = ..., ["val/acc"] = ...,
--    lr = (the first group's lr during the epoch, before its scheduler step), time = seconds}
-- and prints one line per epoch:
--   epoch 3/20  train/loss 0.1234  train/acc 0.9612  val/loss 0.2345  val/acc 0.9500  12.3s
-- or, with the default log on a terminal (and LOUPE_PROGRESS not 0), a bar over the epochs
-- with the last epoch's numbers, and below it a bar over the current epoch's batches:
--   train/loss: 0.123, train/acc: 0.961, val/loss: 0.234, val/acc: 0.950:  15%|█▌   | 3/20 [...]
--   epoch 4: loss: 0.118, acc: 0.963:  42%|████▏     | 197/469 [00:05<00:07, 38.10it/s]
--
-- Checkpoints (train/checkpoint.lua): with checkpoint = path, after every epoch the model's
-- state_dict, the optimizer's and scheduler's state, the generator state, the epoch and the
-- history are written to that one safetensors file, atomically. At the start of fit, if the
-- file exists and resume ~= false, it is loaded and training continues with the next epoch;
-- the result is bit-identical to an uninterrupted run with the same seed and thread count.
-- Interrupts (Ctrl-C, SIGTERM) stop fit with the error "interrupted" between optimizer
-- steps, never inside one (loupe.uninterruptible); the end of an epoch (scheduler step,
-- history, checkpoint) is one such step too, so after an interrupt the checkpoint holds the
-- last complete epoch.
--
-- A NaN or infinite loss is an error naming the epoch and the batch; with nonfinite =
-- "skip" that batch is left out instead: no backward, no optimizer or scheduler step, not in
-- the epoch's means, counted in the record's train/skipped (an epoch whose every batch is
-- skipped is an error).
local loupe = require "loupe"
local data = require "loupe.train.data"
local checkpoint = require "loupe.train.checkpoint"
local progress = require "loupe.progress"

local M = {}

local OPTIONS = {"epochs", "batch_size", "val_batch_size", "optimizer", "scheduler",
                 "scheduler_interval", "augment", "loss", "metrics", "checkpoint", "resume",
                 "drop_last", "shuffle", "seed", "log", "nonfinite"}

-- fraction of argmax(logits, 2) == y
function M.accuracy(logits, y)
  return logits:argmax(2):eq(y):float():mean()
end

local function check_options(opts)
  if opts == nil then return {} end
  if type(opts) ~= "table" then error("fit: options must be a table, got " .. type(opts), 3) end
  local ok = {}
  for _, k in ipairs(OPTIONS) do ok[k] = true end
  for k in pairs(opts) do
    if not ok[k] then
      error(("fit: unknown option '%s' (expected one of: %s)"):format(
        tostring(k), table.concat(OPTIONS, ", ")), 3)
    end
  end
  return opts
end

local function positive_int(v, default, name)
  if v == nil then return default end
  local i = math.type(v) == "integer" and v or (type(v) == "number" and math.tointeger(v))
  if not i or i < 1 then
    error(("fit: %s must be a positive integer, got %s"):format(name, tostring(v)), 3)
  end
  return i
end

local function callable(v)
  if type(v) == "function" then return true end
  local mt = getmetatable(v)
  return type(mt) == "table" and mt.__call ~= nil
end

-- name -> fn, sorted names: accuracy unless removed, plus the caller's
local function metric_set(given)
  local fns = {acc = M.accuracy}
  if given ~= nil then
    if type(given) ~= "table" then error("fit: metrics must be a table name -> function", 3) end
    for name, fn in pairs(given) do
      if type(name) ~= "string" or name:find("[%./]") then
        error(("fit: metric name %s must be a string without '.' or '/'"):format(tostring(name)), 3)
      end
      if fn ~= false and not callable(fn) then
        error(("fit: metric '%s' must be a function (or false to remove it)"):format(name), 3)
      end
      fns[name] = fn or nil
    end
  end
  local names = {}
  for name in pairs(fns) do names[#names + 1] = name end
  table.sort(names)
  return fns, names
end

local function number_of(v, what)
  if loupe.is_tensor(v) then v = v:item() end
  if type(v) ~= "number" then error(("fit: %s returned a %s, not a number"):format(what, type(v)), 0) end
  return v
end

-- The log function, and whether to draw progress bars (the default log on a terminal; its
-- lines then go above the bars).
local function logger(log)
  if log == false then return function() end end
  if log == nil or log == true then
    if progress.is_terminal(io.stdout) then return progress.write, true end
    return function(line)
      io.stdout:write(line, "\n")
      io.stdout:flush()
    end
  end
  if not callable(log) then error("fit: log must be true, false or a function(line, record)", 3) end
  return log
end

-- The record's numbers in display order: {{"train/loss", v}, {"train/acc", v}, ..., val/...}
local function fields(r, names)
  local out = {}
  for _, split in ipairs{"train", "val"} do
    for i = 0, #names do
      local key = split .. "/" .. (i == 0 and "loss" or names[i])
      if r[key] ~= nil then out[#out + 1] = {key, r[key]} end
    end
  end
  return out
end

local function format_line(r, epochs, names)
  local parts = {("epoch %d/%d"):format(r.epoch, epochs)}
  for _, f in ipairs(fields(r, names)) do parts[#parts + 1] = ("%s %.4f"):format(f[1], f[2]) end
  if (r["train/skipped"] or 0) > 0 then parts[#parts + 1] = ("skipped %d"):format(r["train/skipped"]) end
  parts[#parts + 1] = ("%.1fs"):format(r.time)
  return table.concat(parts, "  ")
end

local function file_exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

-- Mean loss and metrics of model over ds (sample-weighted), in eval mode and without
-- gradients; the model's train/eval mode is restored afterwards. Returns {loss = ..., <metric>
-- = ...}. opts: batch_size (default 256), loss, metrics (as fit's).
function M.evaluate(model, ds, opts)
  opts = opts or {}
  local n = data.check(ds, "dataset", 2)
  local loss_fn = opts.loss or loupe.functional.cross_entropy
  local fns, names = metric_set(opts.metrics)
  local bs = positive_int(opts.batch_size, 256, "batch_size")
  local was_training = model.training
  model:eval()
  -- back to training mode also when an error or an interrupt ends the loop
  local restore <close> = setmetatable({}, {__close = function()
    if was_training ~= false then model:train() end
  end})
  local sums, count = {loss = 0}, 0
  for _, name in ipairs(names) do sums[name] = 0 end
  loupe.no_grad(function()
    for x, y in data.batches(ds, n, {batch_size = bs, shuffle = false, drop_last = false}) do
      local logits = model(x)
      local b = y:size(1)
      sums.loss = sums.loss + number_of(loss_fn(logits, y), "loss") * b
      for _, name in ipairs(names) do
        sums[name] = sums[name] + number_of(fns[name](logits, y), "metric " .. name) * b
      end
      count = count + b
    end
  end)
  local out = {}
  for k, v in pairs(sums) do out[k] = count > 0 and v / count or 0 / 0 end
  return out
end

-- One training epoch; returns the record's train fields.
local function train_epoch(model, train_set, n, cfg, epoch)
  model:train()
  local fns, names = cfg.metrics, cfg.metric_names
  local sums, nb, skipped = {loss = 0}, 0, 0
  for _, name in ipairs(names) do sums[name] = 0 end
  local bar <close> = cfg.bars and progress.new{total = cfg.nbatches, leave = false,
                                                 desc = ("epoch %d"):format(epoch)} or nil
  local function running() -- the epoch's means so far, formatted only when the bar draws
    local used = nb - skipped
    local p = {{"loss", sums.loss / used}}
    for _, name in ipairs(names) do p[#p + 1] = {name, sums[name] / used} end
    if skipped > 0 then p[#p + 1] = {"skipped", skipped} end
    return p
  end
  for x, y in data.batches(train_set, n, cfg.batches) do
    nb = nb + 1
    if cfg.augment then
      x = cfg.augment(x, y)
      if not loupe.is_tensor(x) then
        error(("fit: augment must return the batch's new x, got %s"):format(type(x)), 0)
      end
    end
    local logits = model(x)
    local loss = cfg.loss(logits, y)
    local lv = number_of(loss, "loss")
    if lv ~= lv or lv == math.huge or lv == -math.huge then
      if not cfg.skip_nonfinite then
        error(("fit: the loss is %s at epoch %d, batch %d%s (nonfinite = \"skip\" skips such batches)"):format(
          lv ~= lv and "NaN" or lv > 0 and "inf" or "-inf", epoch, nb,
          cfg.nbatches and (" of %d"):format(cfg.nbatches) or ""), 0)
      end
      skipped = skipped + 1
    else
      sums.loss = sums.loss + lv
      loupe.no_grad(function()
        local detached = logits:detach()
        for _, name in ipairs(names) do
          sums[name] = sums[name] + number_of(fns[name](detached, y), "metric " .. name)
        end
      end)
      loss:backward()
      loupe.uninterruptible(cfg.update)
    end
    if bar then bar:update(1, running) end
  end
  if nb == 0 then
    error(("fit: no training batches (%s samples, batch_size %d%s)"):format(
      tostring(n), cfg.batches.batch_size, cfg.batches.drop_last and ", drop_last" or ""), 0)
  end
  if skipped == nb then
    error(("fit: the loss was NaN or infinite in every batch of epoch %d (%d batches skipped)"):format(
      epoch, nb), 0)
  end
  local used = nb - skipped
  local r = {["train/loss"] = sums.loss / used}
  for _, name in ipairs(names) do r["train/" .. name] = sums[name] / used end
  if cfg.skip_nonfinite then r["train/skipped"] = skipped end
  return r
end

function M.fit(model, train_set, val_set, opts)
  opts = check_options(opts)
  if type(model) ~= "table" or not callable(model) then
    error("fit: expected a model (a callable module) as the first argument", 2)
  end
  local n = data.check(train_set, "train_set", 2)
  if val_set ~= nil then data.check(val_set, "val_set", 2) end
  local epochs = positive_int(opts.epochs, 1, "epochs")
  local bs = positive_int(opts.batch_size, 64, "batch_size")
  local val_bs = positive_int(opts.val_batch_size, bs, "val_batch_size")
  local interval = opts.scheduler_interval or "epoch"
  if interval ~= "epoch" and interval ~= "step" then
    error(("fit: scheduler_interval must be \"epoch\" or \"step\", got %s"):format(tostring(interval)), 2)
  end
  for _, k in ipairs{"augment", "loss"} do
    if opts[k] ~= nil and not callable(opts[k]) then error(("fit: %s must be a function"):format(k), 2) end
  end
  if opts.checkpoint ~= nil and type(opts.checkpoint) ~= "string" then
    error("fit: checkpoint must be a file path", 2)
  end
  local nonfinite = opts.nonfinite or "error"
  if nonfinite ~= "error" and nonfinite ~= "skip" then
    error(("fit: nonfinite must be \"error\" or \"skip\", got %s"):format(tostring(nonfinite)), 2)
  end
  local fns, names = metric_set(opts.metrics)
  local cfg = {
    optimizer = opts.optimizer or loupe.optim.AdamW(model:parameters()),
    scheduler = opts.scheduler,
    step_interval = interval == "step",
    augment = opts.augment,
    loss = opts.loss or loupe.functional.cross_entropy,
    metrics = fns, metric_names = names,
    batches = {batch_size = bs, shuffle = opts.shuffle ~= false, drop_last = opts.drop_last == true},
    nbatches = data.count(n, bs, opts.drop_last == true),
    skip_nonfinite = nonfinite == "skip",
  }
  -- one optimizer step, as one uninterruptible unit
  function cfg.update()
    cfg.optimizer:step()
    cfg.optimizer:zero_grad()
    if cfg.scheduler and cfg.step_interval then cfg.scheduler:step() end
  end
  local log, bars = logger(opts.log)
  cfg.bars = bars
  if opts.seed ~= nil then loupe.manual_seed(opts.seed) end

  local history, done = {}, 0
  local run = {model = model, optimizer = cfg.optimizer, scheduler = cfg.scheduler}
  if opts.checkpoint and opts.resume ~= false and file_exists(opts.checkpoint) then
    done, history = checkpoint.load(opts.checkpoint, run, 2)
    log(("resumed from %s after epoch %d"):format(opts.checkpoint, done), nil)
  end
  cfg.optimizer:zero_grad()
  local bar <close> = bars and progress.new{total = epochs, initial = done} or nil
  for epoch = done + 1, epochs do
    local t0 = loupe.clock()
    local lr = cfg.optimizer.param_groups[1].lr
    local r = train_epoch(model, train_set, n, cfg, epoch)
    r.epoch = epoch
    if val_set ~= nil then
      local v = M.evaluate(model, val_set, {batch_size = val_bs, loss = cfg.loss, metrics = opts.metrics})
      for k, x in pairs(v) do r["val/" .. k] = x end
    end
    r.lr = lr
    r.time = loupe.clock() - t0
    -- the epoch ends as one step: an interrupt now lets its checkpoint be written first
    loupe.uninterruptible(function()
      if cfg.scheduler and not cfg.step_interval then cfg.scheduler:step() end
      history[epoch] = r
      if opts.checkpoint then
        run.epoch, run.history = epoch, history
        checkpoint.save(opts.checkpoint, run)
      end
    end)
    if bar then bar:update(1, fields(r, names)) else log(format_line(r, epochs, names), r) end
  end
  return history
end

return M
