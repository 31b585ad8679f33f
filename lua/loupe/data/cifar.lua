-- data/cifar.lua — CIFAR-10 and CIFAR-100, binary version (the reader: src/data/cifar.c).
--
--   loupe.data.cifar10{split = "train" (default) | "test", root =, grayscale =, labels =,
--                      flatten =}
--       <root>/cifar-10-batches-bin/data_batch_1..5.bin (train, 50000), test_batch.bin
--       (10000); class names from batches.meta.txt (airplane ... truck). The seeds'
--       labels = [5, 8] (dog, ship) are loupe's labels = {6, 9}.
--   loupe.data.cifar100{split, root, grayscale, labels, flatten, fine = true}
--       <root>/cifar-100-binary/train.bin (50000), test.bin (10000); fine = true: the 100
--       fine labels (fine_label_names.txt), false: the 20 coarse ones
--       (coarse_label_names.txt).
--
-- x uint8 [N, 3, 32, 32] (float32 [N, 1, 32, 32] with grayscale), y = the file's label + 1.
local loupe = require "loupe"
local dataset = require "loupe.data.dataset"
local D = loupe._data

local OPTIONS10 = {"split", "root", "grayscale", "labels", "flatten"}
local OPTIONS100 = {"split", "root", "grayscale", "labels", "flatten", "fine"}

-- The non-empty lines of a class-name file (the files pad with blank lines), checked.
local function class_names(name, path, want, dir, fetch, root)
  local f = io.open(path, "rb")
  if not f then dataset.missing(name, path:match("[^/]+$"), dir, fetch, root, 3) end
  local names = {}
  for line in f:lines() do
    line = line:gsub("^%s+", ""):gsub("%s+$", "")
    if line ~= "" then names[#names + 1] = line end
  end
  f:close()
  if #names ~= want then
    error(("%s: '%s' names %d classes, expected %d"):format(name, path, #names, want), 3)
  end
  return names
end

local function split_of(name, opts)
  local split = opts.split or "train"
  if split ~= "train" and split ~= "test" then
    error(("%s: split must be \"train\" or \"test\", got %s"):format(name, tostring(split)), 3)
  end
  return split
end

-- The full paths of `files` in dir, each required to exist.
local function paths_of(name, dir, files, fetch, root)
  if not dataset.exists(dir) then dataset.missing(name, "dataset", dir, fetch, root, 3) end
  local paths = {}
  for i, f in ipairs(files) do
    paths[i] = dir .. "/" .. f
    if not dataset.exists(paths[i]) then dataset.missing(name, f, dir, fetch, root, 3) end
  end
  return paths
end

local M = {}

function M.cifar10(opts)
  opts = dataset.check_options("cifar10", opts, OPTIONS10, 2)
  local split = split_of("cifar10", opts)
  local root = dataset.root("cifar10", opts, 2)
  local dir = root .. "/cifar-10-batches-bin"
  local files = {"test_batch.bin"}
  if split == "train" then
    files = {}
    for i = 1, 5 do files[i] = ("data_batch_%d.bin"):format(i) end
  end
  local paths = paths_of("cifar10", dir, files, "cifar10", root)
  local classes = class_names("cifar10", dir .. "/batches.meta.txt", 10, dir, "cifar10", root)
  local x, y = D.read_cifar(paths, {label_bytes = 1, label = 1, num_classes = 10})
  return dataset.finish({x = x, y = y, classes = classes, name = "cifar10", split = split},
                        opts, 2)
end

function M.cifar100(opts)
  opts = dataset.check_options("cifar100", opts, OPTIONS100, 2)
  local split = split_of("cifar100", opts)
  local fine = opts.fine ~= false
  local root = dataset.root("cifar100", opts, 2)
  local dir = root .. "/cifar-100-binary"
  local paths = paths_of("cifar100", dir, {split .. ".bin"}, "cifar100", root)
  local k = fine and 100 or 20
  local classes = class_names("cifar100",
    dir .. (fine and "/fine_label_names.txt" or "/coarse_label_names.txt"), k, dir, "cifar100",
    root)
  local x, y = D.read_cifar(paths, {label_bytes = 2, label = fine and 2 or 1, num_classes = k})
  return dataset.finish({x = x, y = y, classes = classes, name = "cifar100", split = split},
                        opts, 2)
end

return M
