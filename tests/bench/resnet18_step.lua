-- resnet18_step.lua — ResNet-18 forward + backward (training mode, cross-entropy) on a batch
-- of 16 x 3 x 224 x 224, against its PyTorch counterpart resnet18_step_torch.py, alternating.
--   ./loupe tests/bench/resnet18_step.lua            compare (3 rounds of 3 steps each)
--   ./loupe tests/bench/resnet18_step.lua worker N   run N steps after a warm-up
package.path = "tests/bench/lib/?.lua;" .. package.path
local loupe = require "loupe"
local peer = require "peer"

local function worker(reps)
  loupe.manual_seed(0)
  local model = loupe.models.resnet18()
  model:train()
  local x = loupe.randn(16, 3, 224, 224)
  local y = loupe.randint(1, 1001, 16)
  local function step()
    model:zero_grad()
    loupe.functional.cross_entropy(model(x), y):backward()
  end
  step()
  for _ = 1, reps do
    local t0 = loupe.clock()
    step()
    print(("step_seconds %.4f"):format(loupe.clock() - t0))
  end
  print(("max_rss_kb %d"):format(peer.max_rss_kb()))
end

if arg[1] == "worker" then
  worker(tonumber(arg[2]) or 1)
else
  peer.compare{
    name = "resnet18 fwd+bwd", key = "step_seconds", rounds = 3,
    loupe_cmd = ("%s tests/bench/resnet18_step.lua worker 3"):format(arg[-1] or "./loupe"),
    torch_cmd = ("/usr/bin/python3 tests/bench/resnet18_step_torch.py %d 3"):format(
      loupe.get_num_threads()),
  }
end
