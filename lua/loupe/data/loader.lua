-- data/loader.lua — the batches of a dataset held in memory. This module is a function
-- (dataset, opts) -> loader; datasets expose it as ds:loader(opts).
--
--   local loader = ds:loader{batch_size = 64, shuffle = true, drop_last = false,
--                            seed = nil, transform = nil, prefetch = false}
--   for x, y in loader do ... end          -- one epoch; iterate again for the next one
--   for x, y in ds:loader{batch_size = 256} do ... end
--   #loader, loader:len()                  -- batches per epoch
--   for x, y in loader:epoch() do ... end  -- the same, as an explicit iterator
--
-- The dataset: ds.x uint8 or float32 [N, ...], ds.y int64 [N] (1-based labels), #ds samples
-- (its __len, else N). Both are read again at the start of every epoch, so a script may
-- replace ds.y (relabelling) between epochs.
--
-- Each batch is a new float32 tensor [b, ...]: uint8 rows become v / 255 (torchvision's
-- to_tensor, bit for bit), float32 rows are copied; y is int64 [b]. Only the batch's rows are
-- read (an index gather in C, src/data/batch.c); the dataset is never copied. A batch belongs
-- to the caller: the loader never writes to it again, so it may be kept, modified in place or
-- handed to a model that does.
--
-- Options:
--   batch_size  samples per batch (default 1)
--   shuffle     a new permutation every epoch (default true); false: in order
--   drop_last   leave out the last, smaller batch (default false)
--   seed        the permutations come from this seed's own stream (epoch e of the loader uses
--               its counters e*N...), independent of and not advancing the global generator;
--               without it they come from the global seeded generator (loupe.manual_seed), as
--               PyTorch's RandomSampler. Either way the same seed gives the same batches.
--   transform   a function (or callable, e.g. loupe.transforms.compose{...}) applied to every
--               float batch x; its result replaces x.
--   prefetch    make the next batch on a second thread while the caller uses the current one
--               (default false: measured on 2 cores it does not pay, see README "Datasets and
--               transforms"). The thread holds its own references to x, y and the permutation
--               and touches no Lua state; it is joined when the epoch ends, when the loop
--               breaks and the loader is collected, at the next epoch, or by loader:close().
--
-- Starting a `for` loop over the loader starts a new epoch (the loop's first call has no
-- control value); two loops over one loader at once need loader:epoch() for each.
local loupe = require "loupe"

local Loader = {}
Loader.__index = Loader

local OPTIONS = {"batch_size", "shuffle", "drop_last", "seed", "transform", "prefetch"}

local function shape(t) return "[" .. table.concat(t:shape(), ",") .. "]" end

local function callable(v)
  if type(v) == "function" then return true end
  local mt = getmetatable(v)
  return type(mt) == "table" and mt.__call ~= nil
end

-- The dataset's x, y and sample count, checked.
local function parts(ds)
  local x, y = ds.x, ds.y
  if not loupe.is_tensor(x) then error("loader: the dataset has no tensor x", 3) end
  if not loupe.is_tensor(y) then error("loader: the dataset has no tensor y (labels)", 3) end
  if x:dtype() ~= "uint8" and x:dtype() ~= "float32" then
    error(("loader: the dataset's x must be uint8 or float32, got %s %s"):format(x:dtype(), shape(x)), 3)
  end
  if y:dtype() ~= "int64" or y:dim() ~= 1 then
    error(("loader: the dataset's y must be int64 [N], got %s %s"):format(y:dtype(), shape(y)), 3)
  end
  if x:dim() < 1 or x:size(1) ~= y:size(1) then
    error(("loader: the dataset's x %s and y %s hold different numbers of samples"):format(shape(x), shape(y)), 3)
  end
  local n = x:size(1)
  local mt = getmetatable(ds)
  if type(mt) == "table" and mt.__len then
    n = #ds
    if math.type(n) ~= "integer" or n < 0 or n > x:size(1) then
      error(("loader: #dataset is %s but x holds %d samples"):format(tostring(n), x:size(1)), 3)
    end
  end
  return x, y, n
end

local function check_options(opts)
  if opts == nil then return {} end
  if type(opts) ~= "table" then error("loader: options must be a table, got " .. type(opts), 3) end
  local ok = {}
  for _, k in ipairs(OPTIONS) do ok[k] = true end
  for k in pairs(opts) do
    if not ok[k] then
      error(("loader: unknown option '%s' (expected one of: %s)"):format(
        tostring(k), table.concat(OPTIONS, ", ")), 3)
    end
  end
  local bs = opts.batch_size or 1
  if not (type(bs) == "number" and math.tointeger(bs) and bs >= 1) then
    error(("loader: batch_size must be a positive integer, got %s"):format(tostring(opts.batch_size)), 3)
  end
  if opts.seed ~= nil and not math.tointeger(opts.seed) then
    error(("loader: seed must be an integer, got %s"):format(tostring(opts.seed)), 3)
  end
  if opts.transform ~= nil and not callable(opts.transform) then
    error("loader: transform must be a function (or a callable transform)", 3)
  end
  return opts
end

-- A new epoch's C iterator (loupe._batch.iter).
function Loader:_start()
  local x, y, n = parts(self.dataset)
  local perm
  if self.shuffle and n > 0 then
    if self.seed ~= nil then
      perm = loupe._batch.randperm(n, self.seed, self.epochs)
    else
      perm = loupe.randperm(n)
    end
  end
  self.epochs = self.epochs + 1
  return loupe._batch.iter(x, y, perm, n, self.batch_size, self.drop_last, self.prefetch)
end

-- One batch from the C iterator `it`, transformed; nil at the end (then `it` is closed).
function Loader:_next(it)
  local x, y = it:next()
  if x == nil then
    it:close()
    return nil
  end
  if self.transform then
    x = self.transform(x)
    if not loupe.is_tensor(x) then
      error(("loader: transform must return the batch's tensor, got %s"):format(type(x)), 0)
    end
  end
  return x, y
end

-- for x, y in loader do: the loop's first call (control nil) starts an epoch.
function Loader.__call(self, _, control)
  if control == nil or self.current == nil then
    if self.current then self.current:close() end
    self.current = self:_start()
  end
  local x, y = self:_next(self.current)
  if x == nil then self.current = nil end
  return x, y
end

-- An explicit iterator over one new epoch (generic-for values; the 4th closes the epoch's
-- prefetch thread when the loop is left early).
function Loader:epoch()
  local it = self:_start()
  return function() return self:_next(it) end, nil, nil, it
end

function Loader:len()
  local _, _, n = parts(self.dataset)
  if self.drop_last then return n // self.batch_size end
  return n // self.batch_size + (n % self.batch_size ~= 0 and 1 or 0) -- no n + bs overflow
end
Loader.__len = Loader.len

-- Stops the current epoch (and its prefetch thread).
function Loader:close()
  if self.current then
    self.current:close()
    self.current = nil
  end
end
Loader.__close = Loader.close

function Loader:__tostring()
  local _, _, n = parts(self.dataset)
  local flags = {}
  for _, k in ipairs{"shuffle", "drop_last", "prefetch"} do
    if self[k] then flags[#flags + 1] = k end
  end
  if self.seed ~= nil then flags[#flags + 1] = "seed " .. self.seed end
  return ("Loader(%d samples, batch_size %d, %d batches%s)"):format(
    n, self.batch_size, self:len(), #flags > 0 and ", " .. table.concat(flags, ", ") or "")
end

return function(dataset, opts)
  local tp = type(dataset)
  if tp ~= "table" and tp ~= "userdata" then
    error("loader: expected a dataset (fields x and y), got " .. tp, 2)
  end
  opts = check_options(opts)
  parts(dataset)
  return setmetatable({
    dataset = dataset,
    batch_size = math.tointeger(opts.batch_size or 1),
    shuffle = opts.shuffle ~= false,
    drop_last = opts.drop_last == true,
    seed = opts.seed ~= nil and math.tointeger(opts.seed) or nil,
    transform = opts.transform,
    prefetch = opts.prefetch == true,
    epochs = 0,
  }, Loader)
end
