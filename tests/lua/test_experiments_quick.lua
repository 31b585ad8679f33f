-- test_experiments_quick.lua — every experiment in experiments/ end to end in --quick mode,
-- through the batch runner (`loupe run experiments --quick`), as a user would run them: each
-- must succeed, write its figures as real PNGs and a metrics.json whose numbers are sane.
-- Needs MNIST and Fashion-MNIST (`make test` fetches them with `make data`).
local loupe = require "loupe"
local T = require "testlib"
local json = loupe.json

local host = os.getenv("LOUPE") or "./loupe"

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function readfile(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

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

return tests
