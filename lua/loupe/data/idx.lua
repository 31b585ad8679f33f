-- data/idx.lua — MNIST, Fashion-MNIST and KMNIST: IDX files, raw or .gz (the reader:
-- src/data/idx.c), under <root>/mnist, <root>/fashion-mnist, <root>/kmnist with their
-- canonical names (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-...).
--
--   loupe.data.mnist{split = "train" (default) | "test", root =, labels =, flatten =,
--                    grayscale = (accepted; these are gray already)}
--
-- x uint8 [N, 1, 28, 28] (60000 train, 10000 test), y = digit + 1 (the file's 0..9 become
-- 1..10), classes as torchvision's (MNIST "0".."9").
local loupe = require "loupe"
local dataset = require "loupe.data.dataset"
local D = loupe._data

local FAMILIES = {
  mnist = {dir = "mnist", fetch = "mnist",
           classes = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}},
  fashion_mnist = {dir = "fashion-mnist", fetch = "fashion-mnist",
                   classes = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                              "Shirt", "Sneaker", "Bag", "Ankle boot"}},
  kmnist = {dir = "kmnist", fetch = "kmnist",
            classes = {"o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"}},
}

local FILES = {
  train = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte"},
  test = {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"},
}

local OPTIONS = {"split", "root", "grayscale", "labels", "flatten"}

local function shape(t) return "[" .. table.concat(t:shape(), ",") .. "]" end

local function reader(name)
  local fam = FAMILIES[name]
  return function(opts)
    opts = dataset.check_options(name, opts, OPTIONS, 2)
    local split = opts.split or "train"
    if not FILES[split] then
      error(("%s: split must be \"train\" or \"test\", got %s"):format(name, tostring(split)), 2)
    end
    local root = dataset.root(name, opts, 2)
    local dir = root .. "/" .. fam.dir
    if not dataset.exists(dir) then dataset.missing(name, "dataset", dir, fam.fetch, root, 2) end
    local paths = {}
    for i, f in ipairs(FILES[split]) do
      paths[i] = dataset.find(dir .. "/" .. f)
      if not paths[i] then dataset.missing(name, f .. "[.gz]", dir, fam.fetch, root, 2) end
    end
    -- images come as [N, 1, H, W] from the reader, so a refused allocation names that shape
    local images, labels = D.read_idx(paths[1], {images = true}), D.read_idx(paths[2])
    if images:dim() ~= 4 or images:dtype() ~= "uint8" then
      error(("%s: '%s' holds %s %s, expected uint8 images [N, H, W]"):format(
        name, paths[1], images:dtype(), shape(images)), 2)
    end
    if labels:dim() ~= 1 then
      error(("%s: '%s' holds %s, expected labels [N]"):format(name, paths[2], shape(labels)), 2)
    end
    if labels:size(1) ~= images:size(1) then
      error(("%s: '%s' holds %d images but '%s' holds %d labels"):format(
        name, paths[1], images:size(1), paths[2], labels:size(1)), 2)
    end
    local y = D.to_labels(labels, 1, #fam.classes, ("%s: '%s'"):format(name, paths[2]))
    return dataset.finish({x = images, y = y,
                           classes = {table.unpack(fam.classes)}, name = name, split = split},
                          opts, 2)
  end
end

local M = {}
for name in pairs(FAMILIES) do M[name] = reader(name) end
return M
