-- data/init.lua — loupe.data: datasets as objects with x, y, classes, #ds, ds[i] and
-- ds:loader{...} (the object and its shared options: data/dataset.lua).
--
--   loupe.data.mnist{split = "train"|"test", root =, grayscale =, labels =, flatten =}
--   loupe.data.fashion_mnist{...}, loupe.data.kmnist{...}              (data/idx.lua)
--   loupe.data.cifar10{split, root, grayscale, labels, flatten}        (data/cifar.lua)
--   loupe.data.cifar100{..., fine = true}
--   loupe.data.svhn{split = "train"|"test"|"extra", ...}               (data/svhn.lua)
--   loupe.data.image_folder{root =, split =, size =, classes =, ...}   (data/image_folder.lua)
--   loupe.data.dataset{x =, y =, classes =, name =}    a dataset from tensors
--   loupe.data.stimuli, loupe.data.loader, ...          the other modules of lua/loupe/data/
--
-- Datasets live under `root`, else $LOUPE_DATA, else ./datasets; `datasets/fetch NAME` gets
-- them (datasets/README.md). Each family's module is loaded on first use.
local dataset = require "loupe.data.dataset"

local M = {}

M.Dataset = dataset.Dataset
M.dataset = dataset.new

local FAMILIES = {
  mnist = "idx", fashion_mnist = "idx", kmnist = "idx",
  cifar10 = "cifar", cifar100 = "cifar",
  svhn = "svhn",
  image_folder = "image_folder",
}

return setmetatable(M, {__index = function(t, k)
  local v
  if FAMILIES[k] then
    v = require("loupe.data." .. FAMILIES[k])[k]
  elseif type(k) == "string" and package.searchpath("loupe.data." .. k, package.path) then
    v = require("loupe.data." .. k)
  end
  if v ~= nil then rawset(t, k, v) end
  return v
end})
