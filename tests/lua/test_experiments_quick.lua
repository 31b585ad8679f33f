-- test_experiments_quick.lua — every experiment in experiments/ end to end in --quick mode,
-- through the batch runner (`loupe run experiments --quick`), as a user would run them: each
-- must succeed, write its figures as real PNGs and a metrics.json whose numbers are sane.
-- Needs MNIST and Fashion-MNIST (`make test` fetches them with `make data`). The CIFAR-10
-- variants of the eigenvectors experiment run on a small synthetic CIFAR-10 folder (the real
-- one cannot be fetched here): the pipeline, not the learning, is what they check.
local loupe = require "loupe"
local T = require "testlib"
local F = require "data_fixtures"
local json = loupe.json

local host = os.getenv("LOUPE") or "./loupe"

local q = T.q
local readfile = T.readfile

local function need_data()
  for _, dir in ipairs{"mnist", "fashion-mnist"} do
    local root = os.getenv("LOUPE_DATA") or "datasets"
    local f = io.open(root .. "/" .. dir .. "/train-labels-idx1-ubyte", "rb")
      or io.open(root .. "/" .. dir .. "/train-labels-idx1-ubyte.gz", "rb")
    if not f then error(("%s is not in %s: run `make data` first"):format(dir, root), 0) end
    f:close()
  end
end

-- One quick run of the whole folder, shared by the tests below.
local run
local function quick_run()
  if run then return run end
  need_data()
  local dir = os.tmpname()
  os.remove(dir)
  local p = io.popen(("%s run experiments --quick --out %s 2>&1"):format(q(host), q(dir)))
  local out = p:read("a")
  local ok, _, code = p:close()
  run = {dir = dir, out = out, code = ok and 0 or code,
         summary = json.decode(assert(readfile(dir .. "/summary.json"), "no summary.json\n" .. out))}
  return run
end

local function metrics(name)
  local r = quick_run()
  local s = readfile(r.dir .. "/" .. name .. "/metrics.json")
  T.truthy(s, name .. ": no metrics.json\n" .. r.out)
  return json.decode(s)
end

-- A PNG of a real figure: the signature and more than a blank page's bytes.
local function png(name, file)
  local s = readfile(quick_run().dir .. "/" .. name .. "/" .. file)
  T.truthy(s, ("%s: %s was not written"):format(name, file))
  T.eq(s:sub(1, 8), "\137PNG\r\n\26\n", file .. " is a PNG")
  T.truthy(#s > 5000, ("%s: %s has only %d bytes"):format(name, file, #s))
end

local tests = {}

function tests.every_experiment_succeeds()
  local r = quick_run()
  T.eq(r.code, 0, "loupe run experiments --quick\n" .. r.out)
  local names = {}
  for _, e in ipairs(r.summary.experiments) do
    names[#names + 1] = e.name
    T.eq(e.status, "ok", e.name .. ": " .. tostring(e.detail))
  end
  T.truthy(table.concat(names, " "):find("eigenvectors", 1, true), "eigenvectors ran")
  T.truthy(table.concat(names, " "):find("ground_truth", 1, true), "ground_truth ran")
  local html = readfile(r.dir .. "/index.html")
  T.truthy(html:find('eigenvectors/mnist-top-eigenvectors.png"', 1, true), "the report shows the figures")
  T.truthy(html:find('ground_truth/target.png"', 1, true), "the report shows the figures")
end

function tests.eigenvectors_outputs()
  local m = metrics("eigenvectors")
  for _, ds in ipairs{"mnist", "fashion_mnist"} do
    T.eq(m[ds .. "/status"], "ok")
    T.truthy(m[ds .. "/val_acc"] > 0.6, ("%s: quick val acc %s"):format(ds, m[ds .. "/val_acc"]))
    T.truthy(m[ds .. "/train_seconds"] > 0)
    local n = 0
    for _, v in pairs(m[ds .. "/top_eigenvalues"]) do
      n = n + 1
      T.truthy(v > 0, "a class's top eigenvalue is positive")
    end
    T.eq(n, 10, "one top eigenvalue per class")
    png("eigenvectors", ds .. "-top-eigenvectors.png")
    png("eigenvectors", ds .. "-training.png")
    for c = 1, 10 do png("eigenvectors", ("%s-spectrum-%d.png"):format(ds, c)) end
  end
  T.truthy(m.wall_seconds > 0)
end

function tests.ground_truth_outputs()
  local m = metrics("ground_truth")
  T.eq(m.target_digit, "1", "MNIST training image 7 is a 1")
  T.truthy(m.similar_share_train > 0.3 and m.similar_share_train < 0.6, tostring(m.similar_share_train))
  -- better than always answering "different"
  T.truthy(m.val_acc > 1 - m.similar_share_test + 0.02, ("val acc %s"):format(m.val_acc))
  for _, k in ipairs{"cos_top_target", "cos_top_inverse", "cos_pattern_target", "cos_pattern_inverse"} do
    T.truthy(m[k] >= 0 and m[k] <= 1, k .. " is an absolute cosine")
  end
  T.truthy(m.pattern_rank >= 1)
  for _, f in ipairs{"target.png", "spectrum.png", "training.png"} do png("ground_truth", f) end
end

-- A CIFAR-10 binary folder under root with n records per batch file (labels cycling 0..9).
local function fake_cifar10(root, n)
  local dir = root .. "/cifar-10-batches-bin"
  F.mkdir(dir)
  for b = 1, 6 do
    local labels = {}
    for i = 1, n do labels[i] = {(b + i) % 10} end
    F.write(dir .. "/" .. (b <= 5 and ("data_batch_%d.bin"):format(b) or "test_batch.bin"),
            F.cifar(labels, F.pattern({n, 3, 32, 32}, b)))
  end
  F.write(dir .. "/batches.meta.txt", "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n")
end

function tests.eigenvectors_on_cifar10_variants_and_a_missing_dataset()
  local root, out = F.tmpdir(), F.tmpdir()
  fake_cifar10(root, 40)
  local p = io.popen(("LOUPE_DATA=%s LOUPE_OUT=%s %s experiments/eigenvectors.lua --quick --epochs 2 " ..
    "--d_hidden 16 --batch_size 32 --datasets cifar10_rgb,cifar10_dogship_gray,svhn 2>&1")
    :format(q(root), q(out), q(host)))
  local log = p:read("a")
  T.truthy(p:close(), "a missing dataset is not an error\n" .. log)
  local m = json.decode(readfile(out .. "/metrics.json"))
  T.eq(m["cifar10_rgb/status"], "ok")
  T.eq(#m["cifar10_rgb/top_eigenvalues"], 10)
  T.eq(table.concat(m["cifar10_dogship_gray/classes"], ","), "dog,ship")
  T.eq(#m["cifar10_dogship_gray/top_eigenvalues"], 2)
  T.truthy(m["svhn/status"]:find("^skipped: svhn: dataset not found"), m["svhn/status"])
  T.truthy(m["svhn/status"]:find("datasets/fetch svhn", 1, true), "names the fetch command")
  for _, f in ipairs{"cifar10_rgb-top-eigenvectors.png", "cifar10_rgb-top-eigenvectors-rgb.png",
                     "cifar10_rgb-spectrum-10.png", "cifar10_dogship_gray-spectrum-2.png"} do
    T.truthy(readfile(out .. "/" .. f), f .. " was written")
  end
  T.eq(readfile(out .. "/svhn-training.png"), nil)
  os.execute("rm -rf " .. q(root) .. " " .. q(out))
end

function tests.eigenvectors_rejects_unknown_datasets()
  local out = F.tmpdir()
  local p = io.popen(("LOUPE_OUT=%s %s experiments/eigenvectors.lua --datasets mnist,cifar11 2>&1")
    :format(q(out), q(host)))
  local log = p:read("a")
  T.truthy(not p:close(), "exit status")
  os.execute("rm -rf " .. q(out))
  T.truthy(log:find("unknown dataset 'cifar11' (known: cifar10_dogship_gray", 1, true), log)
end

return tests
