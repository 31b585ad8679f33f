-- bilinear_mnist.lua — the paper's MNIST run of the bilinear MLP end to end
-- (BILINEAR_SPEC.md §4: d_hidden 512, AdamW wd 1.0, cosine schedule, batch 2048 drop_last,
-- Gaussian noise std 0.5, seed 420, 100 epochs), loupe's model:fit against the PyTorch
-- implementation of the same spec (bilinear_mnist_torch.py), alternating the two. Reports the
-- wall time of the training, its ratio, peak memory and the final validation accuracy of each.
--   ./loupe tests/bench/bilinear_mnist.lua [EPOCHS [ROUNDS]]   compare (default 100 epochs, 1 round)
--   ./loupe tests/bench/bilinear_mnist.lua worker EPOCHS        one run; prints its numbers
-- Needs MNIST (make data).
package.path = "tests/bench/lib/?.lua;" .. package.path
local loupe = require "loupe"
local peer = require "peer"

local function worker(epochs)
  local train = loupe.data.mnist{split = "train"}
  local test = loupe.data.mnist{split = "test"}
  local model = loupe.models.bilinear_mlp{d_input = 784, d_hidden = 512, d_output = 10,
                                          seed = 420, wd = 1.0, lr = 1e-3, batch_size = 2048,
                                          epochs = epochs}
  local t0 = loupe.clock()
  local history = model:fit(train, test, {augment = loupe.transforms.gaussian_noise{std = 0.5, p = 1},
                                          log = false})
  print(("train_seconds %.3f"):format(loupe.clock() - t0))
  print(("val_acc %.4f"):format(history[#history]["val/acc"]))
  print(("max_rss_kb %d"):format(peer.max_rss_kb()))
end

if arg[1] == "worker" then
  worker(tonumber(arg[2]))
else
  local epochs, rounds = tonumber(arg[1]) or 100, tonumber(arg[2]) or 1
  peer.compare{
    name = ("bilinear MLP, MNIST, %d epochs"):format(epochs), key = "train_seconds",
    rounds = rounds, extra = {"val_acc"},
    loupe_cmd = ("%s tests/bench/bilinear_mnist.lua worker %d"):format(arg[-1] or "./loupe", epochs),
    torch_cmd = ("/usr/bin/python3 tests/bench/bilinear_mnist_torch.py --task mnist --epochs %d --threads %d --quiet")
      :format(epochs, loupe.get_num_threads()),
  }
end
