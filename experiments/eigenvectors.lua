-- eigenvectors.lua — weight-based interpretability of bilinear MLPs (Pearce et al., ICLR 2025;
-- ../shared/peers/BILINEAR_SPEC.md). For each dataset: train the paper's one-layer bilinear
-- MLP (d_hidden 512, AdamW wd 1.0, cosine schedule, Gaussian input noise std 0.5), build each
-- class's interaction matrix Q_c from the weights alone, eigendecompose it and look at the
-- eigenvectors in pixel space: the top one of every class side by side (the paper's
-- Figure 2), and each class's spectrum with its top and bottom eigenvectors.
--
--   ./loupe experiments/eigenvectors.lua                               MNIST and Fashion-MNIST
--   ./loupe experiments/eigenvectors.lua --dataset fashion_mnist --epochs 20
--   ./loupe experiments/eigenvectors.lua --datasets mnist,cifar10_rgb,svhn
--   ./loupe experiments/eigenvectors.lua --quick        a few epochs on a subset, seconds
--
-- Datasets: mnist, fashion_mnist, cifar10_gray, cifar10_rgb, cifar10_dogship_gray,
-- cifar10_dogship_rgb (CIFAR-10's dog and ship only) and svhn (grey). Grey CIFAR-10 and SVHN
-- use ITU-R 601-2 luma (BILINEAR_SPEC.md §5); RGB models take all 3 x 32 x 32 values. A
-- dataset whose files are missing is skipped and reported (metric <name>/status), not an
-- error. Writes, for each dataset <name>: <name>-top-eigenvectors.png (and
-- <name>-top-eigenvectors-rgb.png for RGB data: the first is the mean over the colour
-- channels), <name>-spectrum-<k>.png for each class k (1-based), <name>-training.png, and
-- the metrics <name>/val_acc, <name>/top_eigenvalues (in the order of <name>/classes),
-- <name>/train_seconds and more.
local loupe = require "loupe"
local plot = loupe.plot

local ex = loupe.experiment.new("eigenvectors", {
  options = {datasets = "mnist,fashion_mnist", dataset = "", epochs = 100, d_hidden = 512,
             wd = 1.0, lr = 1e-3, batch_size = 2048, noise = 0.5, seed = 420, bias = false,
             train_size = 0, test_size = 0, k = 4},
  quick = {epochs = 8, train_size = 16384, test_size = 2048, d_hidden = 128},
})

-- name -> reader and its options, the image shape, and whether it is colour
local DATASETS = {
  mnist = {reader = "mnist", shape = {28, 28}},
  fashion_mnist = {reader = "fashion_mnist", shape = {28, 28}},
  cifar10_gray = {reader = "cifar10", opts = {grayscale = true}, shape = {32, 32}},
  cifar10_rgb = {reader = "cifar10", shape = {3, 32, 32}},
  cifar10_dogship_gray = {reader = "cifar10", opts = {labels = {"dog", "ship"}, grayscale = true},
                          shape = {32, 32}},
  cifar10_dogship_rgb = {reader = "cifar10", opts = {labels = {"dog", "ship"}}, shape = {3, 32, 32}},
  svhn = {reader = "svhn", opts = {grayscale = true}, shape = {32, 32}},
}

local function known_names()
  local names = {}
  for k in pairs(DATASETS) do names[#names + 1] = k end
  table.sort(names)
  return table.concat(names, ", ")
end

local function split_list(s)
  local out = {}
  for name in s:gmatch("[^,%s]+") do
    if not DATASETS[name] then
      error(("eigenvectors: unknown dataset '%s' (known: %s)"):format(name, known_names()), 0)
    end
    out[#out + 1] = name
  end
  if #out == 0 then error("eigenvectors: no dataset given", 0) end
  return out
end

-- The first n samples of ds (all when n is 0).
local function first(ds, n)
  if n == 0 or n >= #ds then return ds end
  return loupe.data.dataset{x = ds.x:narrow(1, 1, n), y = ds.y:narrow(1, 1, n),
                            classes = ds.classes, name = ds.name, split = ds.split}
end

-- train, test; or nil and the reason when the dataset's files are missing.
local function load(spec, o)
  local sets = {}
  for _, split in ipairs{"train", "test"} do
    local opts = {split = split}
    for k, v in pairs(spec.opts or {}) do opts[k] = v end
    local ok, ds = pcall(loupe.data[spec.reader], opts)
    if not ok then
      if tostring(ds):find("dataset not found", 1, true) then return nil, tostring(ds) end
      error(ds, 0)
    end
    sets[split] = ds
  end
  return first(sets.train, o.train_size), first(sets.test, o.test_size)
end

-- The [C, D] rows as images of `shape`, averaged over the colour channels when there are 3.
local function grey_images(rows, shape)
  if #shape == 3 then return rows:view(rows:size(1), shape[1], shape[2], shape[3]):mean(2) end
  return rows:view(rows:size(1), shape[1], shape[2])
end

local function run_dataset(name, o)
  local spec = DATASETS[name]
  local train, test = load(spec, o)
  if not train then
    ex:log(("%s: skipped: %s"):format(name, test))
    ex:metric(name .. "/status", "skipped: " .. test)
    return
  end
  local d_input = train.x:numel() // #train
  local classes = train.classes
  ex:log(("%s: %d training and %d test images of %d values, %d classes"):format(
    name, #train, #test, d_input, #classes))
  local model = loupe.models.bilinear_mlp{
    d_input = d_input, d_hidden = o.d_hidden, d_output = #classes, bias = o.bias, seed = o.seed,
    wd = o.wd, lr = o.lr, batch_size = o.batch_size, epochs = o.epochs}
  local t0 = loupe.clock()
  local history = model:fit(train, test, loupe.transforms.gaussian_noise{mean = 0, std = o.noise, p = 1})
  local train_seconds = loupe.clock() - t0
  local last = history[#history]

  local vals, vecs = model:decompose()
  if o.bias then vecs = vecs:narrow(3, 1, d_input) end -- drop the constant coordinate
  local H = vals:size(2)
  local top = vecs:select(2, H) -- [C, D], each class's eigenvector of its largest eigenvalue

  local title = ("%s: top eigenvector of each class (val acc %.3f)"):format(name, last["val/acc"])
  ex:figure(name .. "-top-eigenvectors",
            plot.facets(grey_images(top, spec.shape), {labels = classes, cols = math.min(#classes, 5),
                                                       title = title}))
  if #spec.shape == 3 then
    ex:figure(name .. "-top-eigenvectors-rgb",
              plot.facets(top, {labels = classes, shape = spec.shape, cols = math.min(#classes, 5),
                                title = title .. ", colour"}))
  end
  local top_values = {}
  for c = 1, #classes do
    top_values[c] = vals[c][H]:item()
    ex:figure(("%s-spectrum-%d"):format(name, c),
              plot.eigenspectrum(vals[c], vecs[c], {shape = spec.shape, k = o.k,
                                                    title = ("%s: class %s"):format(name, classes[c])}))
  end
  ex:figure(name .. "-training", plot.history(history, {title = name .. ": training"}))

  ex:metric(name .. "/status", "ok")
  ex:metric(name .. "/val_acc", last["val/acc"])
  ex:metric(name .. "/val_loss", last["val/loss"])
  ex:metric(name .. "/train_acc", last["train/acc"])
  ex:metric(name .. "/epochs", #history)
  ex:metric(name .. "/train_seconds", train_seconds)
  ex:metric(name .. "/classes", classes)
  ex:metric(name .. "/top_eigenvalues", top_values)
  ex:log(("%s: val acc %.4f after %d epochs, %.1f s"):format(name, last["val/acc"], #history,
                                                           train_seconds))
end

ex:run(function()
  local o = ex.opts
  local t0 = loupe.clock()
  local names = split_list(o.dataset ~= "" and o.dataset or o.datasets)
  for _, name in ipairs(names) do run_dataset(name, o) end
  ex:metric("wall_seconds", loupe.clock() - t0)
end)
