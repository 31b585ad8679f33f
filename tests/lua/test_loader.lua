-- test_loader.lua — the data loader (lua/loupe/data/loader.lua, src/data/batch.c): batch
-- values and shapes, counts, shuffling and seeds, re-iteration, transforms, the prefetch
-- thread (same batches; early exits), relabelling between epochs, the fit loop's protocol,
-- errors. Datasets here are plain tables {x = ..., y = ...} (the dataset objects of
-- loupe.data call the same function from their :loader method).
local loupe = require "loupe"
local T = require "testlib"
local new_loader = require "loupe.data.loader"

local function dataset(n, dtype)
  local x = loupe.randint(0, 256, n, 3, 4, 4):byte()
  if dtype == "float32" then x = loupe.rand(n, 3, 4, 4) end
  return {x = x, y = loupe.arange(1, n + 1):long()}
end

local function labels(loader)
  local all = {}
  for _, y in loader do
    for _, v in ipairs(y:totable()) do all[#all + 1] = v end
  end
  return all
end

local tests = {}

function tests.batches_are_float_and_match_the_rows()
  local ds = dataset(37)
  local n = 0
  for x, y in new_loader(ds, {batch_size = 8, seed = 1}) do
    n = n + 1
    T.eq(x:dtype(), "float32")
    T.eq(y:dtype(), "int64")
    T.eq(x:size(1), y:size(1))
    -- bit for bit torchvision's to_tensor: uint8 / 255
    T.truthy(x:equal(ds.x:index_select(1, y):float() / 255), "batch " .. n)
  end
  T.eq(n, 5)
  local fds = dataset(10, "float32")
  for x, y in new_loader(fds, {batch_size = 4}) do
    T.truthy(x:equal(fds.x:index_select(1, y)), "float rows are copied as they are")
    x:fill_(7) -- a batch is the caller's: the dataset does not change
  end
  T.truthy(fds.x:max():item() < 1, "dataset untouched")
end

function tests.counts_and_drop_last()
  local ds = dataset(10)
  local l = new_loader(ds, {batch_size = 4})
  T.eq(#l, 3)
  T.eq(l:len(), 3)
  T.eq(#new_loader(ds, {batch_size = 4, drop_last = true}), 2)
  local sizes = {}
  for x in new_loader(ds, {batch_size = 4, drop_last = true}) do sizes[#sizes + 1] = x:size(1) end
  T.eq(table.concat(sizes, ","), "4,4")
  sizes = {}
  for x in l do sizes[#sizes + 1] = x:size(1) end
  T.eq(table.concat(sizes, ","), "4,4,2")
  T.eq(#new_loader(dataset(0), {batch_size = 4}), 0)
  for _ in new_loader(dataset(0), {batch_size = 4}) do error("no batches expected") end
  T.eq(tostring(l), "Loader(10 samples, batch_size 4, 3 batches, shuffle)")
end

function tests.every_sample_once_per_epoch_reshuffled()
  local ds = dataset(50)
  local l = new_loader(ds, {batch_size = 7, seed = 3})
  local e1, e2 = labels(l), labels(l)
  T.eq(#e1, 50)
  local s = {table.unpack(e1)}
  table.sort(s)
  for i = 1, 50 do T.eq(s[i], i) end
  T.truthy(table.concat(e1, ",") ~= table.concat(e2, ","), "a new permutation each epoch")
  T.eq(table.concat(labels(new_loader(ds, {batch_size = 50, shuffle = false})), ","),
       table.concat(ds.y:totable(), ","))
end

function tests.seed_is_private_and_deterministic()
  local ds = dataset(40)
  loupe.manual_seed(1)
  local before = loupe.get_rng_state()
  local a1, a2 = table.unpack((function()
    local l = new_loader(ds, {batch_size = 6, seed = 42})
    return {table.concat(labels(l), ","), table.concat(labels(l), ",")}
  end)())
  local after = loupe.get_rng_state()
  T.eq(after[2], before[2], "the global generator did not move")
  loupe.manual_seed(99) -- a different global state changes nothing
  local l = new_loader(ds, {batch_size = 6, seed = 42})
  T.eq(table.concat(labels(l), ","), a1)
  T.eq(table.concat(labels(l), ","), a2)
  T.truthy(table.concat(labels(new_loader(ds, {batch_size = 6, seed = 43})), ",") ~= a1, "another seed")
  -- without a seed: the global generator, so manual_seed reproduces the order
  loupe.manual_seed(5)
  local g1 = table.concat(labels(new_loader(ds, {batch_size = 6})), ",")
  loupe.manual_seed(5)
  T.eq(table.concat(labels(new_loader(ds, {batch_size = 6})), ","), g1)
  T.eq(g1, table.concat((function() loupe.manual_seed(5); return loupe.randperm(40):totable() end)(), ","),
       "the order is loupe.randperm's, as PyTorch's RandomSampler draws it")
end

function tests.transform_is_applied()
  local ds = dataset(9)
  local seen = 0
  for x, y in new_loader(ds, {batch_size = 4, shuffle = false,
                              transform = function(b) seen = seen + 1; return b * 2 end}) do
    T.truthy(x:equal(ds.x:index_select(1, y):float() / 255 * 2), "transformed")
  end
  T.eq(seen, 3)
  local TF = loupe.transforms
  for x in new_loader(ds, {batch_size = 4, transform = TF.compose{TF.hflip, TF.gaussian_noise{p = 1}}}) do
    T.eq(x:dtype(), "float32")
  end
  T.raises(function()
    for _ in new_loader(ds, {transform = function() return 1 end}) do end
  end, "transform must return the batch's tensor")
end

function tests.prefetch_gives_the_same_batches()
  local ds = dataset(203)
  local plain, pre = {}, {}
  for x, y in new_loader(ds, {batch_size = 16, seed = 7}) do plain[#plain + 1] = {x, y} end
  for x, y in new_loader(ds, {batch_size = 16, seed = 7, prefetch = true}) do pre[#pre + 1] = {x, y} end
  T.eq(#pre, #plain)
  for i = 1, #plain do
    T.truthy(pre[i][1]:equal(plain[i][1]) and pre[i][2]:equal(plain[i][2]), "batch " .. i)
  end
  -- batches handed out are never written again: the first one still matches its rows
  T.truthy(pre[1][1]:equal(ds.x:index_select(1, pre[1][2]):float() / 255), "kept batch intact")
end

function tests.prefetch_early_exit_and_reuse()
  local ds = dataset(100)
  local l = new_loader(ds, {batch_size = 10, prefetch = true, seed = 1})
  for _ = 1, 3 do
    local k = 0
    for _ in l do -- leave every epoch early; the next loop starts a new epoch
      k = k + 1
      if k == 2 then break end
    end
  end
  T.eq(#labels(l), 100, "a full epoch after the broken ones")
  -- an explicit epoch closes its thread when the loop is left
  for x in l:epoch() do
    T.eq(x:size(1), 10)
    break
  end
  l:close()
  l = nil
  collectgarbage()
  collectgarbage()
end

function tests.dataset_length_and_relabelling()
  local ds = setmetatable(dataset(20), {__len = function() return 12 end})
  T.eq(#labels(new_loader(ds, {batch_size = 5})), 12, "#ds samples")
  local l = new_loader(ds, {batch_size = 12, shuffle = false})
  labels(l)
  ds.y = ds.y:clone():fill_(3)
  for _, v in ipairs(labels(l)) do T.eq(v, 3) end
end

function tests.noncontiguous_dataset()
  local base = loupe.randint(0, 256, 12, 4, 3):byte()
  local ds = {x = base:transpose(2, 3), y = loupe.arange(1, 13):long()}
  for x, y in new_loader(ds, {batch_size = 5}) do
    T.truthy(x:equal(ds.x:index_select(1, y):float() / 255), "strided samples")
  end
end

-- the fit loop's protocol (loupe/train/data.lua): a dataset with a :loader method
function tests.fit_protocol()
  local data = require "loupe.train.data"
  local ds = dataset(30)
  ds.loader = function(self, opts) return new_loader(self, opts) end
  T.eq(data.check(ds, "train_set", 1), nil)
  local n = 0
  for x, y in data.batches(ds, nil, {batch_size = 8, shuffle = true, drop_last = true}) do
    T.eq(x:size(1), 8)
    T.eq(y:size(1), 8)
    n = n + 1
  end
  T.eq(n, 3)
end

function tests.errors()
  local ds = dataset(4)
  T.raises(function() new_loader(ds, {batch_size = 0}) end, "batch_size must be a positive integer, got 0")
  T.raises(function() new_loader(ds, {batch_size = 2.5}) end, "batch_size must be a positive integer")
  T.raises(function() new_loader(ds, {shufle = true}) end, "unknown option 'shufle'")
  T.raises(function() new_loader(ds, {seed = 1.5}) end, "seed must be an integer")
  T.raises(function() new_loader(ds, {transform = 3}) end, "transform must be a function")
  T.raises(function() new_loader({x = ds.x:long(), y = ds.y}) end, "x must be uint8 or float32, got int64")
  T.raises(function() new_loader({x = ds.x, y = ds.y:float()}) end, "y must be int64 [N], got float32")
  T.raises(function() new_loader({x = ds.x, y = loupe.arange(1, 4):long()}) end, "different numbers of samples")
  T.raises(function() new_loader({y = ds.y}) end, "no tensor x")
  T.raises(function() new_loader(5) end, "expected a dataset")
  T.raises(function() loupe._batch.gather(ds.x, loupe.tensor({1, 9}, "int64")) end, "index 9 out of range for 4 samples")
end

return tests
