-- bilinear_epoch.lua — one training epoch of the seed's CIFAR-10 bilinear-MLP configuration
-- (BILINEAR_SPEC.md: 50,000 x 1024 inputs, d_hidden 512, 10 classes, batch 2048 with
-- drop_last, AdamW lr 1e-3 wd 1.0, Gaussian input noise std 0.5) on synthetic data of that
-- shape, against its PyTorch counterpart bilinear_epoch_torch.py, alternating the two.
--   ./loupe tests/bench/bilinear_epoch.lua            compare (3 rounds of 2 epochs each)
--   ./loupe tests/bench/bilinear_epoch.lua worker N   run N epochs, print their times
package.path = "tests/bench/lib/?.lua;" .. package.path
local loupe = require "loupe"
local peer = require "peer"
local nn, F = loupe.nn, loupe.functional

local N, D, H, C, B = 50000, 1024, 512, 10, 2048
-- FLOPs of one epoch: embed forward + weight grad, bilinear forward + weight and input
-- grads, head (negligible): 2*B*D*H*2 + 2*B*H*2H*3 per batch.
local FLOPS = (N // B) * (2 * B * D * H * 2 + 2 * B * H * 2 * H * 3)

local function worker(reps)
  loupe.manual_seed(0)
  local x = loupe.rand(N, D)
  local y = loupe.randint(1, C + 1, N)
  local embed = nn.Linear(D, H, {bias = false})
  local bil = nn.Bilinear(H, H, {bias = false})
  local head = nn.Linear(H, C, {bias = false})
  local params = {}
  for _, m in ipairs{embed, bil, head} do
    for _, p in ipairs(m:parameters()) do params[#params + 1] = p end
  end
  local opt = loupe.optim.AdamW(params, {lr = 1e-3, weight_decay = 1.0})
  local noise = loupe.transforms.gaussian_noise{std = 0.5, p = 1} -- kornia's, as the seed
  for _ = 1, reps do
    local t0 = loupe.clock()
    local perm = loupe.randperm(N)
    for b = 0, N // B - 1 do
      local idx = perm:narrow(1, b * B + 1, B)
      local xb = x:index_select(1, idx)
      xb = noise(xb)
      local loss = F.cross_entropy(head(bil(embed(xb))), y:index_select(1, idx))
      opt:zero_grad()
      loss:backward()
      opt:step()
    end
    local dt = loupe.clock() - t0
    print(("epoch_seconds %.4f"):format(dt))
  end
  print(("max_rss_kb %d"):format(peer.max_rss_kb()))
end

if arg[1] == "worker" then
  worker(tonumber(arg[2]) or 1)
else
  local threads = loupe.get_num_threads()
  local t = peer.compare{
    name = "bilinear epoch", key = "epoch_seconds", rounds = 3,
    loupe_cmd = ("%s tests/bench/bilinear_epoch.lua worker 2"):format(arg[-1] or "./loupe"),
    torch_cmd = ("/usr/bin/python3 tests/bench/bilinear_epoch_torch.py %d 2"):format(threads),
  }
  print(("bilinear epoch: %.1f GFLOP per epoch, %.1f GFLOPS reached (compare with the sgemm peak above)")
    :format(FLOPS / 1e9, FLOPS / t / 1e9))
end
