-- train/data.lua — how loupe.train reads datasets: the batching protocol.
--
-- A dataset is either
--   * a table or object with fields `x` (a tensor [N, ...], uint8 or float32) and `y` (int64
--     [N], 1-based class labels). N is #ds when the object defines __len, else x:size(1).
--     Batches are gathered with index_select along a fresh permutation (loupe.randperm, the
--     seeded generator) when shuffling, or taken in order; uint8 batches become float32 / 255
--     (torchvision's to_tensor), so images can stay uint8 in memory. A batch is always a new
--     tensor, never a view of ds.x, so in-place work on it (an in-place ReLU on the input, an
--     augmentation) cannot change the dataset; or
--   * an object with a method `ds:loader{batch_size = b, shuffle = s, drop_last = d}` that
--     returns a Lua iterator (function [, state, control]) of (x, y) batches, for datasets
--     that batch themselves. uint8 batches are converted the same way; float batches must be
--     new tensors the caller may modify (loupe.data's loader hands out fresh ones), so they
--     are used as they come.
-- drop_last leaves out a last, smaller batch (60000 samples in batches of 2048 -> 29 batches).
local loupe = require "loupe"

local M = {}

local function shape(t) return "[" .. table.concat(t:shape(), ",") .. "]" end

-- Checks ds (named `what` in messages, e.g. "train_set") and returns its sample count, or
-- nil for a dataset with its own loader. `level` as for error(), counted from the caller.
function M.check(ds, what, level)
  local ty = type(ds)
  if ty ~= "table" and ty ~= "userdata" then
    error(("fit: %s must be a dataset (fields x and y, or a :loader method), got %s"):format(what, ty), level + 1)
  end
  if ds.loader ~= nil then return nil end
  local x, y = ds.x, ds.y
  if not loupe.is_tensor(x) or not loupe.is_tensor(y) then
    error(("fit: %s must have tensors x and y (or a :loader method)"):format(what), level + 1)
  end
  if x:dtype() ~= "uint8" and x:dtype() ~= "float32" then
    error(("fit: %s.x must be uint8 or float32, got %s"):format(what, x:dtype()), level + 1)
  end
  if y:dtype() ~= "int64" or y:dim() ~= 1 then
    error(("fit: %s.y must be 1-D int64 labels, got %s %s"):format(what, y:dtype(), shape(y)), level + 1)
  end
  if x:dim() < 1 or x:size(1) ~= y:size(1) then
    error(("fit: %s.x %s and %s.y %s hold different numbers of samples"):format(
      what, shape(x), what, shape(y)), level + 1)
  end
  local n = x:size(1)
  local mt = getmetatable(ds)
  if type(mt) == "table" and mt.__len then
    n = #ds
    if math.type(n) ~= "integer" or n < 0 or n > x:size(1) then
      error(("fit: #%s is %s but %s.x holds %d samples"):format(what, tostring(n), what, x:size(1)), level + 1)
    end
  end
  return n
end

-- float32 in [0, 1] from uint8; float32 as is (view = x may share the dataset's memory:
-- then it is copied)
function M.to_float(x, view)
  if x:dtype() == "uint8" then return x:float():div_(255) end
  return view and x:clone() or x
end

-- The number of batches of n samples (nil when unknown).
function M.count(n, batch_size, drop_last)
  if n == nil then return nil end
  if drop_last then return n // batch_size end
  return (n + batch_size - 1) // batch_size
end

-- An iterator of (x, y) over ds's batches. A shuffled pass draws its permutation here, when
-- the iterator is made, as PyTorch's RandomSampler does.
function M.batches(ds, n, opts)
  if n == nil then
    local f, s, c = ds:loader{batch_size = opts.batch_size, shuffle = opts.shuffle,
                              drop_last = opts.drop_last}
    return function()
      local x, y = f(s, c)
      c = x
      if x == nil then return nil end
      return M.to_float(x, false), y
    end
  end
  local bs, nb = opts.batch_size, M.count(n, opts.batch_size, opts.drop_last)
  local perm = opts.shuffle and n > 0 and loupe.randperm(n) or nil
  local b = 0
  return function()
    b = b + 1
    if b > nb then return nil end
    local start = (b - 1) * bs
    local len = math.min(bs, n - start)
    local x, y
    if perm then
      local idx = perm:narrow(1, start + 1, len)
      x, y = ds.x:index_select(1, idx), ds.y:index_select(1, idx)
    else
      x, y = ds.x:narrow(1, start + 1, len), ds.y:narrow(1, start + 1, len)
    end
    return M.to_float(x, perm == nil), y
  end
end

return M
