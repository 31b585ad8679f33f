-- data/svhn.lua — SVHN cropped digits (the MATLAB reader: src/data/mat.c).
--
--   loupe.data.svhn{split = "train" (default) | "test" | "extra", root =, grayscale =,
--                   labels =, flatten =}
--
-- <root>/svhn/train_32x32.mat (73257 images), test_32x32.mat (26032), extra_32x32.mat
-- (531131). Each holds X, uint8 [32, 32, 3, N] in MATLAB's column-major order (row, column,
-- channel, image), and y, doubles 1..10 where 10 means the digit 0. loupe gives
-- x uint8 [N, 3, 32, 32] and labels digit + 1 as for MNIST: digit d has label d + 1, so
-- label 1 is the digit 0 (the file's 10) and classes are "0".."9". (torchvision's SVHN maps
-- the file's 10 to 0, i.e. its 0-based label is the digit; loupe's is that plus one.)
local loupe = require "loupe"
local dataset = require "loupe.data.dataset"
local D = loupe._data

local OPTIONS = {"split", "root", "grayscale", "labels", "flatten"}
local SPLITS = {train = "svhn", test = "svhn", extra = "svhn-extra"} -- -> the fetch name
local CLASSES = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}

local function shape(t) return "[" .. table.concat(t:shape(), ",") .. "]" end

local M = {}

function M.svhn(opts)
  opts = dataset.check_options("svhn", opts, OPTIONS, 2)
  local split = opts.split or "train"
  if not SPLITS[split] then
    error(("svhn: split must be \"train\", \"test\" or \"extra\", got %s"):format(tostring(split)), 2)
  end
  local root = dataset.root("svhn", opts, 2)
  local dir = root .. "/svhn"
  local file = split .. "_32x32.mat"
  local path = dir .. "/" .. file
  if not dataset.exists(dir) then dataset.missing("svhn", "dataset", dir, SPLITS[split], root, 2) end
  if not dataset.exists(path) then dataset.missing("svhn", file, dir, SPLITS[split], root, 2) end
  local vars = D.read_mat(path, {"X", "y"})
  -- X [32, 32, 3, N] column-major reads as [N, 3, 32 (column), 32 (row)]
  local X = vars.X
  if X:dtype() ~= "uint8" or X:dim() ~= 4 or X:size(2) ~= 3 then
    error(("svhn: X in '%s' is %s with MATLAB dimensions [%d,%d,%d,%d], expected uint8 "
           .. "[H, W, 3, N]"):format(path, X:dtype(), X:size(4), X:size(3), X:size(2),
           X:size(1)), 2)
  end
  local n = X:size(1)
  if vars.y:numel() ~= n then
    error(("svhn: '%s' holds %d images in X but %d labels in y %s"):format(
      path, n, vars.y:numel(), shape(vars.y)), 2)
  end
  local v = vars.y:float():reshape(n)
  D.to_labels(v, 0, 10, ("svhn: y in '%s'"):format(path)) -- checks the file's 1..10
  local digits = v - v:eq(10):float() * 10 -- 10 means 0
  local y = D.to_labels(digits, 1, 10, "svhn: digits")
  return dataset.finish({x = X:transpose(3, 4):contiguous(), y = y,
                         classes = {table.unpack(CLASSES)}, name = "svhn", split = split},
                        opts, 2)
end

return M
