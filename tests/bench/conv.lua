-- conv.lua — conv2d forward and forward+backward on the convolution shapes of ResNet-18 at
-- batch 16 x 3 x 224 x 224 (no bias, as in ResNet). Every layer's input needs a gradient
-- except the stem's (conv1 sees the images). Prints, per shape, the median wall time in ms of
-- REPS runs after one warm-up, and the ResNet-18 total (each shape times its count in the
-- network). tests/bench/conv_vs_torch.py runs this alternately with the same shapes in
-- PyTorch and prints the ratios.
--
-- Usage: ./loupe tests/bench/conv.lua [--quick] [--reps N] [--only NAME] [--machine]
--   --machine prints one line per shape: "conv NAME FWD_MS STEP_MS" (for the driver).
local loupe = require "loupe"
local F = loupe.functional

-- name, count in ResNet-18, input [N, C, H, W], weight [O, C, kh, kw], stride, padding
local SHAPES = {
  {"conv1_7x7s2", 1, {16, 3, 224, 224}, {64, 3, 7, 7}, 2, 3},
  {"layer1_3x3", 4, {16, 64, 56, 56}, {64, 64, 3, 3}, 1, 1},
  {"layer2_3x3s2", 1, {16, 64, 56, 56}, {128, 64, 3, 3}, 2, 1},
  {"layer2_3x3", 3, {16, 128, 28, 28}, {128, 128, 3, 3}, 1, 1},
  {"layer2_1x1s2", 1, {16, 64, 56, 56}, {128, 64, 1, 1}, 2, 0},
  {"layer3_3x3s2", 1, {16, 128, 28, 28}, {256, 128, 3, 3}, 2, 1},
  {"layer3_3x3", 3, {16, 256, 14, 14}, {256, 256, 3, 3}, 1, 1},
  {"layer3_1x1s2", 1, {16, 128, 28, 28}, {256, 128, 1, 1}, 2, 0},
  {"layer4_3x3s2", 1, {16, 256, 14, 14}, {512, 256, 3, 3}, 2, 1},
  {"layer4_3x3", 3, {16, 512, 7, 7}, {512, 512, 3, 3}, 1, 1},
  {"layer4_1x1s2", 1, {16, 256, 14, 14}, {512, 256, 1, 1}, 2, 0},
}

local reps, only, machine = 5, nil, false
local i = 1
while arg and arg[i] do
  if arg[i] == "--quick" then reps = 2
  elseif arg[i] == "--reps" then i = i + 1; reps = assert(tonumber(arg[i]), "--reps N")
  elseif arg[i] == "--only" then i = i + 1; only = arg[i]
  elseif arg[i] == "--machine" then machine = true
  else error("conv.lua: unknown argument " .. arg[i]) end
  i = i + 1
end

local function median(t)
  table.sort(t)
  local n = #t
  return n % 2 == 1 and t[(n + 1) // 2] or 0.5 * (t[n // 2] + t[n // 2 + 1])
end

loupe.manual_seed(0)
if not machine then
  print(("== conv: ResNet-18 convolution shapes, batch 16, %d threads, median of %d"):format(
    loupe.get_num_threads(), reps))
end
local total_fwd, total_step = 0, 0
for _, s in ipairs(SHAPES) do
  local name, count, xs, ws, stride, pad = table.unpack(s)
  if not only or only == name then
    local x = loupe.randn(xs)
    if name ~= "conv1_7x7s2" then x:requires_grad_() end
    local w = (loupe.randn(ws) * 0.05):requires_grad_()
    local opts = {stride = stride, padding = pad}
    local gy = loupe.randn(loupe.no_grad(function() return F.conv2d(x, w, opts) end):shape())
    local function fwd() return loupe.no_grad(function() return F.conv2d(x, w, opts) end) end
    local function step()
      x.grad, w.grad = nil, nil
      F.conv2d(x, w, opts):backward(gy)
    end
    fwd(); step() -- warm-up: the allocator's cache, OpenBLAS's buffers
    local tf, ts = {}, {}
    for r = 1, reps do
      collectgarbage()
      local t0 = loupe.clock()
      fwd()
      local t1 = loupe.clock()
      step()
      local t2 = loupe.clock()
      tf[r], ts[r] = (t1 - t0) * 1e3, (t2 - t1) * 1e3
    end
    local mf, ms = median(tf), median(ts)
    total_fwd, total_step = total_fwd + count * mf, total_step + count * ms
    if machine then
      print(("conv %s %.3f %.3f"):format(name, mf, ms))
    else
      local n, c, h, wd = table.unpack(xs)
      local o, _, kh, kw = table.unpack(ws)
      local oh, ow = (h + 2 * pad - kh) // stride + 1, (wd + 2 * pad - kw) // stride + 1
      local gflop = 2 * n * o * oh * ow * c * kh * kw / 1e9
      print(("conv %-14s x%d  forward %8.2f ms (%5.1f GFLOPS)   forward+backward %8.2f ms"):format(
        name, count, mf, gflop / mf * 1e3, ms))
    end
  end
end
if not machine and not only then
  print(("conv ResNet-18 total (shape times count): forward %.1f ms, forward+backward %.1f ms"):format(
    total_fwd, total_step))
end
