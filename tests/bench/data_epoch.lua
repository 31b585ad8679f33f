-- data_epoch.lua — the cost of feeding a bilinear training epoch: one epoch of CIFAR-10-sized
-- batches through the loader (50,000 synthetic uint8 samples of 1024 grayscale features,
-- batch 2048, drop_last, shuffled) with Gaussian noise augmentation (std 0.5, p = 1), as a
-- fraction of one bilinear training epoch (tests/bench/bilinear_epoch.lua, or PyTorch's
-- bilinear_epoch_torch.py when that is missing). The issue's target is below 5 %.
-- It also times the fused noise kernel against randn_like + add (loupe's and PyTorch's) and
-- measures whether the loader's prefetch thread shortens a training epoch.
--   ./loupe tests/bench/data_epoch.lua              everything
--   ./loupe tests/bench/data_epoch.lua noise_torch  (child) PyTorch's randn_like + add
package.path = "tests/bench/lib/?.lua;" .. package.path
local loupe = require "loupe"
local peer = require "peer"
local new_loader = require "loupe.data.loader"
local TF = loupe.transforms

local N, D, H, C, B = 50000, 1024, 512, 10, 2048
local REPS = 5

local function median_time(reps, fn)
  local ts = {}
  for i = 1, reps do
    local t0 = loupe.clock()
    fn()
    ts[i] = loupe.clock() - t0
  end
  return peer.median(ts)
end

local function run(cmd, key)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("a")
  p:close()
  local vs = {}
  for v in out:gmatch(key .. " ([%d%.]+)") do vs[#vs + 1] = tonumber(v) end
  return vs, out
end

loupe.manual_seed(0)
local ds = {x = loupe.randint(0, 256, N, D):byte(), y = loupe.randint(1, C + 1, N)}
local noise = TF.gaussian_noise{std = 0.5, p = 1}

-- ---- the data epoch ----
local function epoch(loader) for _ in loader do end end
local plain = new_loader(ds, {batch_size = B, drop_last = true})
local noisy = new_loader(ds, {batch_size = B, drop_last = true, transform = noise})
epoch(noisy) -- warm the allocator's block cache, as any epoch after the first finds it
local t_gather = median_time(REPS, function() epoch(plain) end)
local t_data = median_time(REPS, function() epoch(noisy) end)
print(("data epoch: %d batches of %dx%d uint8 -> float32: gather %.1f ms, gather + noise %.1f ms (median of %d)")
  :format(#noisy, B, D, t_gather * 1e3, t_data * 1e3, REPS))

-- ---- the noise kernel against randn_like + add ----
local xb = loupe.rand(B, D)
local t_fused = median_time(REPS, function() for _ = 1, 10 do TF.gaussian_noise(xb, {std = 0.5, p = 1}) end end) / 10
local t_randn = median_time(REPS, function() for _ = 1, 10 do local _ = xb + loupe.randn_like(xb) * 0.5 end end) / 10
print(("noise on %dx%d: fused gaussian_noise %.2f ms, loupe randn_like*0.5 + add %.2f ms")
  :format(B, D, t_fused * 1e3, t_randn * 1e3))
if peer.torch_available() then
  local code = ([[import torch, time
torch.set_num_threads(%d)
x = torch.rand(%d, %d)
ts = []
for r in range(%d):
    t0 = time.perf_counter()
    for i in range(10): y = x + torch.randn_like(x) * 0.5
    ts.append((time.perf_counter() - t0) / 10)
print('noise_seconds %%.6f' %% sorted(ts)[len(ts) // 2])]]):format(loupe.get_num_threads(), B, D, REPS)
  local v = run("OMP_WAIT_POLICY=passive /usr/bin/python3 -c \"" .. code .. "\"", "noise_seconds")
  if v[1] then
    print(("noise on %dx%d: PyTorch randn_like*0.5 + add %.2f ms (fused loupe kernel %.1fx faster)")
      :format(B, D, v[1] * 1e3, v[1] / t_fused))
  end
end

-- ---- one bilinear training epoch, for the fraction ----
local train_epoch, source
local script = "tests/bench/bilinear_epoch.lua"
if io.open(script) then
  local v = run(("%s %s worker 2"):format(arg[-1] or "./loupe", script), "epoch_seconds")
  train_epoch, source = v[#v], "loupe, " .. script
elseif peer.torch_available() then
  local v = run(("OMP_WAIT_POLICY=passive /usr/bin/python3 tests/bench/bilinear_epoch_torch.py %d 2")
    :format(loupe.get_num_threads()), "epoch_seconds")
  train_epoch, source = v[#v], "PyTorch, tests/bench/bilinear_epoch_torch.py"
end
if train_epoch then
  print(("data epoch with noise = %.2f %% of a bilinear training epoch (%.2f s, %s); target < 5 %%")
    :format(100 * t_data / train_epoch, train_epoch, source))
else
  print("data epoch: no bilinear training epoch to compare with")
end

-- ---- does prefetching help a training epoch? ----
-- The bilinear epoch of bilinear_epoch.lua fed by the loader, prefetch off and on, alternated.
local nn, F = loupe.nn, loupe.functional
local embed = nn.Linear(D, H, {bias = false})
local bil = nn.Bilinear(H, H, {bias = false})
local head = nn.Linear(H, C, {bias = false})
local params = {}
for _, m in ipairs{embed, bil, head} do
  for _, p in ipairs(m:parameters()) do params[#params + 1] = p end
end
local opt = loupe.optim.AdamW(params, {lr = 1e-3, weight_decay = 1.0})
local function train(loader)
  for x, y in loader do
    local loss = F.cross_entropy(head(bil(embed(x))), y)
    opt:zero_grad()
    loss:backward()
    opt:step()
  end
end
local loaders = {
  [false] = new_loader(ds, {batch_size = B, drop_last = true, transform = noise}),
  [true] = new_loader(ds, {batch_size = B, drop_last = true, transform = noise, prefetch = true}),
}
local times = {[false] = {}, [true] = {}}
train(loaders[false])
for _ = 1, 3 do
  for _, pf in ipairs{false, true} do
    local t0 = loupe.clock()
    train(loaders[pf])
    table.insert(times[pf], loupe.clock() - t0)
  end
end
local off, on = peer.median(times[false]), peer.median(times[true])
print(("training epoch fed by the loader (%d threads): prefetch off %.3f s, on %.3f s (%+.1f %%)")
  :format(loupe.get_num_threads(), off, on, 100 * (on - off) / off))
