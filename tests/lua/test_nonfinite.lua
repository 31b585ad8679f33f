-- test_nonfinite.lua — loupe.train.fit and a NaN or infinite loss: the default
-- (nonfinite = "error") stops with an error naming the epoch and the batch; nonfinite =
-- "skip" leaves such a batch out (no backward, no optimizer or scheduler step, not in the
-- means) and counts it in the history's train/skipped; an epoch of skipped batches only is an
-- error.
local loupe = require "loupe"
local T = require "testlib"
local nn = loupe.nn
local train = loupe.train

local function blobs(n)
  local y = loupe.randint(1, 5, {n})
  local centers = loupe.tensor{{2, 2}, {-2, 2}, {2, -2}, {-2, -2}}
  return {x = centers:index_select(1, y) + loupe.randn(n, 2) * 0.8, y = y}
end

-- An augment that poisons the batches listed in bad ({[epoch] = {[batch] = value}}) with
-- value (NaN or inf), for 4 batches per epoch.
local function poison(bad)
  local epoch, batch = 1, 0
  return function(x)
    batch = batch + 1
    if batch > 4 then epoch, batch = epoch + 1, 1 end
    local v = bad[epoch] and bad[epoch][batch]
    if v then return x * v end
    return x
  end
end

-- An optimizer whose steps are counted.
local function counted(model)
  local opt = loupe.optim.SGD(model:parameters(), {lr = 0.1, momentum = 0.9})
  local steps = 0
  local step = opt.step
  function opt:step(...)
    steps = steps + 1
    return step(self, ...)
  end
  return opt, function() return steps end
end

local tests = {}

function tests.error_is_the_default()
  loupe.manual_seed(1)
  local model = nn.Linear(2, 4)
  local opt, steps = counted(model)
  local calls = 0
  T.raises(function()
    train.fit(model, blobs(256), nil, {epochs = 2, batch_size = 64, optimizer = opt,
                                       loss = function(logits, y) -- inf in epoch 2, batch 2
                                         calls = calls + 1
                                         if calls == 6 then return loupe.tensor(math.huge) end
                                         return loupe.functional.cross_entropy(logits, y)
                                       end, log = false})
  end, "fit: the loss is inf at epoch 2, batch 2 of 4 (nonfinite = \"skip\" skips such batches)")
  T.eq(steps(), 5, "four steps in epoch 1, one in epoch 2")
  T.raises(function()
    train.fit(nn.Linear(2, 4), blobs(64), nil, {nonfinite = "ignore", log = false})
  end, 'fit: nonfinite must be "error" or "skip", got ignore')
end

function tests.skip_leaves_the_batch_out()
  loupe.manual_seed(2)
  local model = nn.Linear(2, 4)
  local opt, steps = counted(model)
  local sched = loupe.optim.lr_scheduler.StepLR(opt, {step_size = 1, gamma = 0.9})
  local lines = {}
  local h = train.fit(model, blobs(256), blobs(64), {
    epochs = 3, batch_size = 64, optimizer = opt, scheduler = sched, scheduler_interval = "step",
    augment = poison{[1] = {[1] = 0 / 0}, [3] = {[2] = 0 / 0, [4] = -math.huge}},
    nonfinite = "skip", log = function(line) lines[#lines + 1] = line end})
  T.eq(h[1]["train/skipped"], 1)
  T.eq(h[2]["train/skipped"], 0)
  T.eq(h[3]["train/skipped"], 2)
  T.eq(steps(), 12 - 3, "no optimizer step for a skipped batch")
  T.close(opt.param_groups[1].lr, 0.1 * 0.9 ^ 9, 1e-12, "no scheduler step either")
  for e = 1, 3 do
    local l = h[e]["train/loss"]
    T.truthy(l == l and math.abs(l) < math.huge, "epoch " .. e .. ": a finite mean of the other batches")
    T.truthy(h[e]["val/loss"] == h[e]["val/loss"], "finite val/loss")
  end
  local w = model.weight
  T.truthy(w:ne(w):float():sum():item() == 0 and w:abs():max():item() < math.huge, "finite weights")
  T.truthy(lines[1]:find("  skipped 1  ", 1, true), lines[1])
  T.eq(lines[2]:find("skipped", 1, true), nil, lines[2])
end

-- The skipped batches' losses do not enter the epoch's mean: it is the mean of the rest.
function tests.skip_means_over_the_other_batches()
  loupe.manual_seed(3)
  local ds = blobs(256)
  local losses = {}
  local function loss(logits, y)
    local l = loupe.functional.cross_entropy(logits, y)
    losses[#losses + 1] = l:item()
    return l
  end
  local h = train.fit(nn.Linear(2, 4), ds, nil, {epochs = 1, batch_size = 64, loss = loss,
    augment = poison{[1] = {[3] = 0 / 0}}, nonfinite = "skip", log = false})
  T.eq(#losses, 4)
  T.truthy(losses[3] ~= losses[3], "batch 3 is NaN")
  T.close(h[1]["train/loss"], (losses[1] + losses[2] + losses[4]) / 3, 1e-12)
end

function tests.an_epoch_of_skipped_batches_is_an_error()
  loupe.manual_seed(4)
  T.raises(function()
    train.fit(nn.Linear(2, 4), blobs(128), nil, {epochs = 2, batch_size = 64, nonfinite = "skip",
      augment = function(x) return x * (0 / 0) end, log = false})
  end, "fit: the loss was NaN or infinite in every batch of epoch 1 (2 batches skipped)")
end

-- train/skipped is part of the history a checkpoint keeps.
function tests.skipped_counts_survive_a_checkpoint()
  loupe.manual_seed(5)
  local base = os.tmpname()
  os.remove(base)
  local ds = blobs(256)
  local h = train.fit(nn.Linear(2, 4), ds, nil, {epochs = 2, batch_size = 64, nonfinite = "skip",
    augment = poison{[2] = {[1] = 0 / 0}}, checkpoint = base, log = false})
  local h2 = train.fit(nn.Linear(2, 4), ds, nil, {epochs = 2, batch_size = 64, nonfinite = "skip",
    checkpoint = base, log = false})
  os.remove(base)
  T.eq(h[2]["train/skipped"], 1)
  T.eq(h2[2]["train/skipped"], 1, "read back from the checkpoint")
  T.eq(h2[1]["train/skipped"], 0)
end

return tests
