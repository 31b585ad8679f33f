-- test_train.lua — loupe.train.fit: learning, history and log line, batching (drop_last,
-- uint8 conversion, the loader protocol), train metrics on pre-update weights, schedulers,
-- checkpoints (atomic, exact resume, resume = false, finished runs) and errors.
local loupe = require "loupe"
local T = require "testlib"
local nn = loupe.nn
local train = loupe.train

-- four Gaussian blobs in 2-D, one per class (labels 1..4)
local function blobs(n, spread)
  local y = loupe.randint(1, 5, {n})
  local centers = loupe.tensor{{2, 2}, {-2, 2}, {2, -2}, {-2, -2}}
  return {x = centers:index_select(1, y) + loupe.randn(n, 2) * (spread or 0.8), y = y}
end

local function mlp()
  return nn.Sequential(nn.Linear(2, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.2),
                       nn.Linear(16, 4))
end

local function tmpdir()
  local base = os.tmpname()
  os.remove(base)
  assert(os.execute("mkdir -p '" .. base .. "'"))
  return base, function() os.execute("rm -rf '" .. base .. "'") end
end

local function listdir(dir)
  local names = {}
  local p = io.popen("ls -A '" .. dir .. "'")
  for n in p:lines() do names[#names + 1] = n end
  p:close()
  return table.concat(names, ",")
end

local tests = {}

function tests.learns_a_separable_problem()
  loupe.manual_seed(1)
  local tr, va = blobs(1024), blobs(256)
  local model = mlp()
  local opt = loupe.optim.AdamW(model:parameters(), {lr = 1e-2})
  local sched = loupe.optim.lr_scheduler.CosineAnnealingLR(opt, {T_max = 5})
  local lines = {}
  local h = train.fit(model, tr, va, {epochs = 5, batch_size = 64, optimizer = opt,
                                      scheduler = sched, seed = 3,
                                      log = function(line) lines[#lines + 1] = line end})
  T.eq(#h, 5)
  T.truthy(h[5]["val/acc"] > 0.95, "val/acc " .. h[5]["val/acc"])
  T.truthy(h[5]["train/acc"] > h[1]["train/acc"], "train accuracy rises")
  T.truthy(h[5]["train/loss"] < h[1]["train/loss"], "train loss falls")
  for e, r in ipairs(h) do
    T.eq(r.epoch, e)
    for _, k in ipairs{"train/loss", "train/acc", "val/loss", "val/acc", "lr", "time"} do
      T.eq(type(r[k]), "number", k)
    end
    T.close(r.lr, 1e-2 * (1 + math.cos(math.pi * (e - 1) / 5)) / 2, 1e-12, "cosine lr of epoch " .. e)
  end
  -- one plain line per epoch
  T.eq(#lines, 5)
  local pat = "^epoch 3/5  train/loss %d%.%d%d%d%d  train/acc %d%.%d%d%d%d  "
    .. "val/loss %d%.%d%d%d%d  val/acc %d%.%d%d%d%d  %d+%.%ds$"
  T.truthy(lines[3]:match(pat), "log line: " .. lines[3])
end

-- BILINEAR_SPEC.md §2: 60000 samples in batches of 2048 with drop_last make 29 full batches
-- (59392 samples); without drop_last a 30th of 608. uint8 x arrives as float32 / 255.
function tests.drop_last_and_uint8_batches()
  loupe.manual_seed(2)
  local ds = {x = loupe.randint(0, 256, {60000, 2}):byte(), y = loupe.randint(1, 3, {60000})}
  for _, drop in ipairs{true, false} do
    local sizes = {}
    local function augment(x)
      T.eq(x:dtype(), "float32")
      T.truthy(x:max():item() <= 1 and x:min():item() >= 0, "x in [0, 1]")
      sizes[#sizes + 1] = x:size(1)
      return x
    end
    train.fit(nn.Linear(2, 2), ds, nil, {epochs = 1, batch_size = 2048, drop_last = drop,
                                         augment = augment, log = false})
    local total = 0
    for _, s in ipairs(sizes) do total = total + s end
    T.eq(#sizes, drop and 29 or 30, "batches")
    T.eq(total, drop and 59392 or 60000, "samples")
    T.eq(sizes[#sizes], drop and 2048 or 608, "last batch")
  end
  -- the same pixels a script would compute by hand
  local x = loupe.tensor({{0, 255}, {51, 102}}, "uint8")
  local seen
  train.fit(nn.Linear(2, 2), {x = x, y = loupe.tensor({1, 2}, "int64")}, nil,
            {batch_size = 2, shuffle = false, log = false,
             augment = function(b) seen = b:clone() return b end})
  T.close(seen, loupe.tensor{{0, 1}, {0.2, 0.4}}, 1e-7)
end

-- batches are copies: in-place work on them leaves the dataset alone
function tests.batches_never_alias_the_dataset()
  loupe.manual_seed(9)
  local ds = blobs(40)
  local copy = ds.x:clone()
  for _, shuffle in ipairs{false, true} do
    train.fit(nn.Linear(2, 4), ds, ds, {batch_size = 16, shuffle = shuffle, log = false,
                                        augment = function(x) return x:add_(1) end})
  end
  T.truthy(ds.x:equal(copy), "dataset unchanged")
end

-- train/loss is the mean of the batch losses under the weights before each update: with a
-- single batch per epoch it is the loss of the initial model, while val/loss (after the
-- update) differs. And with lr = 0 train and val agree on the same data.
function tests.train_metrics_use_pre_update_weights()
  loupe.manual_seed(3)
  local ds = blobs(128)
  local model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 4))
  local before = train.evaluate(model, ds)
  local h = train.fit(model, ds, ds, {batch_size = 128, shuffle = false, log = false,
                                      optimizer = loupe.optim.SGD(model:parameters(), {lr = 0.5})})
  T.close(h[1]["train/loss"], before.loss, 1e-6, "train/loss = loss before the step")
  T.close(h[1]["train/acc"], before.acc, 1e-7)
  T.truthy(math.abs(h[1]["val/loss"] - before.loss) > 1e-3, "val/loss is after the step")
  local h0 = train.fit(model, ds, ds, {epochs = 2, batch_size = 32, shuffle = false, log = false,
                                       optimizer = loupe.optim.SGD(model:parameters(), {lr = 0})})
  T.close(h0[2]["train/loss"], h0[2]["val/loss"], 1e-6)
  T.close(h0[2]["train/acc"], h0[2]["val/acc"], 1e-7)
end

function tests.custom_metrics_and_loss()
  loupe.manual_seed(4)
  local ds = blobs(96)
  local calls = 0
  local function loss(logits, y)
    calls = calls + 1
    return loupe.functional.cross_entropy(logits, y, {label_smoothing = 0.1})
  end
  local function mean_logit(logits) return logits:mean() end
  local h = train.fit(nn.Linear(2, 4), ds, ds, {epochs = 2, batch_size = 32, loss = loss,
                                                metrics = {mean_logit = mean_logit, acc = false},
                                                log = false})
  T.eq(type(h[2]["train/mean_logit"]), "number")
  T.eq(type(h[2]["val/mean_logit"]), "number")
  T.eq(h[2]["train/acc"], nil, "acc removed")
  T.eq(calls, 2 * (3 + 3), "loss called per train batch and per val batch")
end

-- A dataset object that batches itself.
function tests.loader_protocol()
  loupe.manual_seed(5)
  local raw = blobs(60)
  local asked = {}
  local ds = {}
  function ds:loader(o)
    asked[#asked + 1] = o
    local b, n = 0, 60 // o.batch_size
    return function()
      b = b + 1
      if b > n then return nil end
      local i = (b - 1) * o.batch_size + 1
      return raw.x:narrow(1, i, o.batch_size), raw.y:narrow(1, i, o.batch_size)
    end
  end
  local n = 0
  local h = train.fit(nn.Linear(2, 4), ds, ds, {epochs = 2, batch_size = 20, log = false,
                                                augment = function(x) n = n + 1 return x end})
  T.eq(n, 6, "3 training batches per epoch")
  T.eq(#h, 2)
  T.eq(#asked, 4, "a train and a val pass per epoch")
  T.eq(asked[1].batch_size, 20)
  T.eq(asked[1].shuffle, true)
  T.eq(asked[1].drop_last, false)
  T.eq(asked[2].shuffle, false, "validation in order")
end

function tests.scheduler_interval()
  loupe.manual_seed(6)
  local ds = blobs(100)
  for _, interval in ipairs{"epoch", "step"} do
    local steps = 0
    local sched = {step = function() steps = steps + 1 end}
    train.fit(nn.Linear(2, 4), ds, nil, {epochs = 3, batch_size = 25, scheduler = sched,
                                         scheduler_interval = interval, log = false})
    T.eq(steps, interval == "epoch" and 3 or 12, interval)
  end
end

-- The run the resume test repeats: dropout, noise augmentation, shuffling, BatchNorm buffers,
-- AdamW and a cosine schedule all draw on or carry state.
local function run(epochs, ckpt, init_seed)
  loupe.manual_seed(init_seed)
  local model = mlp()
  local opt = loupe.optim.AdamW(model:parameters(), {lr = 5e-3, weight_decay = 0.1})
  local sched = loupe.optim.lr_scheduler.CosineAnnealingLR(opt, {T_max = 4})
  local data_gen = loupe.get_rng_state()
  loupe.manual_seed(100) -- the same data every time
  local tr, va = blobs(300, 1.5), blobs(100, 1.5)
  loupe.set_rng_state(data_gen)
  local h = train.fit(model, tr, va, {
    epochs = epochs, batch_size = 64, optimizer = opt, scheduler = sched, seed = 11,
    augment = function(x) return x + loupe.randn_like(x) * 0.3 end,
    checkpoint = ckpt, log = false})
  return model, h
end

local function same_history(a, b)
  T.eq(#a, #b, "epochs")
  for e = 1, #a do
    for k, v in pairs(a[e]) do
      if k ~= "time" then T.eq(b[e][k], v, ("epoch %d %s"):format(e, k)) end
    end
  end
end

function tests.resume_is_bit_identical()
  local dir, done = tmpdir()
  local path = dir .. "/run.safetensors"
  local straight, h_straight = run(4, nil, 7)
  run(2, path, 7)                                  -- "interrupted" after 2 epochs
  local resumed, h_resumed = run(4, path, 12345)   -- fresh model, other init: state comes from the file
  local a, b = straight:state_dict(), resumed:state_dict()
  for k, t in pairs(a) do T.truthy(t:equal(b[k]), "parameter " .. k .. " differs") end
  same_history(h_straight, h_resumed)
  T.eq(listdir(dir), "run.safetensors", "one checkpoint file, no temporaries")
  done()
end

function tests.checkpoint_contents_and_atomic_write()
  local dir, done = tmpdir()
  local path = dir .. "/c.safetensors"
  local model = run(2, path, 1)
  T.eq(listdir(dir), "c.safetensors", "no temporaries left")
  local t, m = loupe.load(path)
  T.eq(m.epoch, "2")
  T.eq(m.format, "loupe.train/1")
  T.truthy(m["rng.seed"] and m["rng.counter"], "generator state")
  T.truthy(m["history.2.val/acc"], "history")
  T.truthy(t["model.1.running_mean"]:equal(model:state_dict()["1.running_mean"]), "buffers")
  T.truthy(t["optim.state.1.exp_avg"], "optimizer state tensors")
  T.truthy(m["sched.last_epoch"], "scheduler state")
  done()
end

function tests.resume_false_and_finished_runs()
  local dir, done = tmpdir()
  local path = dir .. "/r.safetensors"
  run(2, path, 1)
  -- a finished run: nothing left to train, the history comes back from the file
  loupe.manual_seed(3)
  local model = mlp()
  local before = model:state_dict()["0.weight"]:clone()
  local lines = {}
  local h = train.fit(model, blobs(64), nil, {epochs = 2, checkpoint = path,
    optimizer = loupe.optim.AdamW(model:parameters()),
    scheduler = loupe.optim.lr_scheduler.CosineAnnealingLR(loupe.optim.AdamW(model:parameters()), {T_max = 4}),
    log = function(l) lines[#lines + 1] = l end})
  T.eq(#h, 2)
  T.truthy(lines[1]:find("resumed from " .. path .. " after epoch 2", 1, true), lines[1])
  T.eq(#lines, 1)
  T.truthy(not model:state_dict()["0.weight"]:equal(before), "weights loaded from the file")
  -- resume = false starts over and overwrites
  local h2 = train.fit(mlp(), blobs(64), nil, {epochs = 1, checkpoint = path, resume = false, log = false})
  T.eq(#h2, 1)
  local _, m = loupe.load(path)
  T.eq(m.epoch, "1")
  done()
end

function tests.resume_mismatch_errors()
  local dir, done = tmpdir()
  local path = dir .. "/m.safetensors"
  run(1, path, 1)
  T.raises(function() train.fit(mlp(), blobs(64), nil, {epochs = 2, checkpoint = path, log = false}) end,
           "holds scheduler state, but fit was not given a scheduler")
  local m = nn.Linear(2, 4)
  local opt = loupe.optim.AdamW(m:parameters())
  T.raises(function()
    train.fit(m, blobs(64), nil, {epochs = 2, checkpoint = path, log = false, optimizer = opt,
      scheduler = loupe.optim.lr_scheduler.CosineAnnealingLR(opt, {T_max = 2})})
  end, "cannot resume from '" .. path .. "'")
  local other = dir .. "/other.safetensors"
  loupe.save(other, {w = loupe.zeros(1)})
  T.raises(function() train.fit(mlp(), blobs(64), nil, {checkpoint = other, log = false}) end,
           "is not a loupe.train checkpoint")
  done()
end

function tests.nan_loss_names_epoch_and_batch()
  loupe.manual_seed(8)
  local ds = blobs(256)
  local epoch, batch = 1, 0
  local function augment(x)
    batch = batch + 1
    if batch > 4 then epoch, batch = epoch + 1, 1 end
    if epoch == 2 and batch == 3 then return x * (0 / 0) end
    return x
  end
  T.raises(function()
    train.fit(nn.Linear(2, 4), ds, nil, {epochs = 3, batch_size = 64, augment = augment, log = false})
  end, "at epoch 2, batch 3 of 4")
end

function tests.argument_errors()
  local ds = blobs(16)
  local m = nn.Linear(2, 4)
  T.raises(function() train.fit(m, ds, nil, {epoch = 3}) end, "unknown option 'epoch'")
  T.raises(function() train.fit(m, {x = loupe.zeros(3, 2), y = loupe.ones(4):long()}) end,
           "hold different numbers of samples")
  T.raises(function() train.fit(m, {x = loupe.zeros(3, 2), y = loupe.ones(3)}) end,
           "train_set.y must be 1-D int64 labels")
  T.raises(function() train.fit(m, {x = loupe.zeros(3, 2):long(), y = loupe.ones(3):long()}) end,
           "train_set.x must be uint8 or float32")
  T.raises(function() train.fit(m, ds, 5) end, "val_set must be a dataset")
  T.raises(function() train.fit(m, ds, nil, {batch_size = 0}) end, "batch_size must be a positive integer")
  T.raises(function() train.fit(m, ds, nil, {scheduler_interval = "batch"}) end, "scheduler_interval")
  T.raises(function() train.fit(m, ds, nil, {batch_size = 32, drop_last = true, log = false}) end,
           "no training batches (16 samples, batch_size 32, drop_last)")
  T.raises(function() train.fit(m, ds, nil, {augment = function() end, log = false}) end,
           "augment must return the batch's new x")
  T.raises(function() train.fit(m, ds, nil, {metrics = {["a.b"] = print}}) end, "metric name")
end

return tests
