-- ground_truth_seeds.lua — fidelity of the similarity task (experiments/ground_truth.lua)
-- against the PyTorch implementation of the same spec (bilinear_mnist_torch.py --task
-- similarity), over several seeds: loupe and PyTorch draw from different random streams, so
-- one seed each compares two samples of seed noise; the medians over seeds compare the
-- implementations. Prints, per seed and as medians: val accuracy and the absolute cosine
-- similarity of the literal top eigenvector and of the pattern component with the target.
--   ./loupe tests/bench/ground_truth_seeds.lua [EPOCHS [SEEDS...]]   (default 100; 42 1 2 3 4)
-- Needs MNIST (make data).
package.path = "tests/bench/lib/?.lua;" .. package.path
local loupe = require "loupe"
local peer = require "peer"

local KEYS = {"val_acc", "cos_top_target", "cos_pattern_target"}
local epochs = tonumber(arg[1]) or 100
local seeds = {}
for i = 2, #arg do seeds[#seeds + 1] = math.tointeger(tonumber(arg[i])) end
if #seeds == 0 then seeds = {42, 1, 2, 3, 4} end
local host = arg[-1] or "./loupe"

local function run(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("a")
  local ok = p:close()
  if not ok then error("failed: " .. cmd .. "\n" .. out) end
  return out
end

local function loupe_run(seed)
  local dir = os.tmpname()
  os.remove(dir)
  run(("LOUPE_OUT=%s %s experiments/ground_truth.lua --epochs %d --seed %d"):format(dir, host, epochs, seed))
  local f = assert(io.open(dir .. "/metrics.json"))
  local m = loupe.json.decode(f:read("a"))
  f:close()
  os.execute("rm -rf '" .. dir .. "'")
  return m
end

local function torch_run(seed)
  local out = run(("OMP_WAIT_POLICY=passive /usr/bin/python3 tests/bench/bilinear_mnist_torch.py " ..
                   "--task similarity --epochs %d --threads %d --seed %d --quiet")
                  :format(epochs, loupe.get_num_threads(), seed))
  local m = {}
  for _, k in ipairs(KEYS) do m[k] = tonumber(out:match(k .. " ([%d%.]+)")) end
  return m
end

if not peer.torch_available() then
  print("ground truth seeds: PyTorch not available, nothing to compare")
  return
end
local got = {loupe = {}, torch = {}}
print(("ground truth, %d epochs      val_acc          |cos| top        |cos| pattern"):format(epochs))
print("seed                  loupe   torch    loupe   torch    loupe   torch")
for _, seed in ipairs(seeds) do
  local l, t = loupe_run(seed), torch_run(seed)
  local row = {("%-20d"):format(seed)}
  for _, k in ipairs(KEYS) do
    got.loupe[k] = got.loupe[k] or {}
    got.torch[k] = got.torch[k] or {}
    table.insert(got.loupe[k], l[k])
    table.insert(got.torch[k], t[k])
    row[#row + 1] = ("%7.4f %7.4f"):format(l[k], t[k])
  end
  print(table.concat(row, "  "))
end
local row = {("%-20s"):format("median")}
for _, k in ipairs(KEYS) do
  row[#row + 1] = ("%7.4f %7.4f"):format(peer.median(got.loupe[k]), peer.median(got.torch[k]))
end
print(table.concat(row, "  "))
