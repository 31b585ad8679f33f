-- test_torch_layers.lua — the layer primitives of loupe.functional against PyTorch.
-- tests/fixtures/torch_layers.safetensors holds, for every case below, inputs, outputs and the
-- gradients of (out * w):sum(), computed once in float64 by tests/fixtures/gen_torch_layers.py
-- (naming as in gen_torch_ref.py). Each case here is the loupe spelling of the PyTorch call of
-- the same name there. Batch-norm training cases also return the running statistics after
-- the call (the clones given as inputs are updated in place).
--
-- Tolerance: the reference is the float64 result rounded once, and T.close allows
-- |diff| <= tol * (|ref| + 1). The largest sums here have a few hundred float32 terms (the
-- weight gradients of conv, over images and positions), well within TOL = 1e-5.
local loupe = require "loupe"
local T = require "testlib"
local F = loupe.functional

local FIXTURE = "tests/fixtures/torch_layers.safetensors"
local TOL = 1e-5

local cases = {}
local function case(name, fn)
  assert(not cases[name], "duplicate case " .. name)
  cases[name] = fn
end

-- linear, bilinear
case("linear_bias", function(x, w, b) return F.linear(x, w, b) end)
case("linear_nobias", function(x, w) return F.linear(x, w) end)
case("linear_3d", function(x, w, b) return F.linear(x, w, b) end)
case("linear_1d", function(x, w, b) return F.linear(x, w, b) end)
case("bilinear_bias", function(x, w, b) return F.bilinear(x, w, b) end)
case("bilinear_nobias", function(x, w) return F.bilinear(x, w) end)

-- conv2d
case("conv_plain", function(x, w, b) return F.conv2d(x, w, b) end)
case("conv_stride2", function(x, w, b) return F.conv2d(x, w, b, {stride = 2}) end)
case("conv_pad1", function(x, w, b) return F.conv2d(x, w, b, {padding = 1}) end)
case("conv_dilation2", function(x, w, b) return F.conv2d(x, w, b, {padding = 1, dilation = 2}) end)
case("conv_groups2", function(x, w, b) return F.conv2d(x, w, b, {padding = 1, groups = 2}) end)
case("conv_depthwise", function(x, w, b)
  return F.conv2d(x, w, b, {stride = 2, padding = 1, groups = 4})
end)
case("conv_1x1", function(x, w, b) return F.conv2d(x, w, b) end)
case("conv_1x1_stride2", function(x, w) return F.conv2d(x, w, {stride = 2}) end)
case("conv_nobias", function(x, w) return F.conv2d(x, w) end)
case("conv_nonsquare", function(x, w, b)
  return F.conv2d(x, w, b, {stride = {2, 1}, padding = {1, 0}, dilation = {1, 2}})
end)
case("conv_unbatched", function(x, w, b) return F.conv2d(x, w, b, {padding = "same"}) end)
case("conv_single_image", function(x, w, b) return F.conv2d(x, w, b, {padding = 1}) end)
case("conv_single_1x1", function(x, w, b) return F.conv2d(x, w, b) end)

-- batch_norm
local function bn_train(x, rm, rv, w, b)
  return F.batch_norm(x, rm, rv, w, b, {training = true, momentum = 0.1, eps = 1e-5}), rm, rv
end
local function bn_eval(x, rm, rv, w, b) return F.batch_norm(x, rm, rv, w, b) end
case("bn1d_train", bn_train)
case("bn2d_train", bn_train)
case("bn3d_train", bn_train)
case("bn2d_train_noaffine", function(x, rm, rv) return bn_train(x, rm, rv) end)
case("bn2d_train_nostats", function(x, w, b) return F.batch_norm(x, nil, nil, w, b, {training = true}) end)
case("bn1d_eval", bn_eval)
case("bn2d_eval", bn_eval)

-- pooling
case("maxpool_k2", function(x) return F.max_pool2d(x, 2) end)
case("maxpool_k3s2", function(x) return F.max_pool2d(x, 3, {stride = 2}) end)
case("maxpool_pad", function(x) return F.max_pool2d(x, 3, {stride = 2, padding = 1}) end)
case("maxpool_dilation", function(x) return F.max_pool2d(x, 3, {stride = 1, padding = 1, dilation = 2}) end)
case("maxpool_ceil", function(x) return F.max_pool2d(x, 2, {ceil_mode = true}) end)
case("maxpool_ceil_pad", function(x) return F.max_pool2d(x, 3, {stride = 2, padding = 1, ceil_mode = true}) end)
case("maxpool_nonsquare", function(x) return F.max_pool2d(x, {3, 2}, {stride = {2, 1}}) end)
case("maxpool_unbatched", function(x) return F.max_pool2d(x, 2, {stride = 1}) end)
case("avgpool_k2", function(x) return F.avg_pool2d(x, 2) end)
case("avgpool_pad", function(x) return F.avg_pool2d(x, 3, {stride = 2, padding = 1}) end)
case("avgpool_pad_exclude", function(x)
  return F.avg_pool2d(x, 3, {stride = 2, padding = 1, count_include_pad = false})
end)
case("avgpool_ceil", function(x) return F.avg_pool2d(x, 3, {stride = 2, padding = 1, ceil_mode = true}) end)
case("avgpool_ceil_exclude", function(x)
  return F.avg_pool2d(x, 3, {stride = 2, padding = 1, ceil_mode = true, count_include_pad = false})
end)
case("avgpool_nonsquare", function(x) return F.avg_pool2d(x, {3, 2}, {stride = {2, 1}, padding = {1, 0}}) end)
case("adaptive_avg_7to3", function(x) return F.adaptive_avg_pool2d(x, 3) end)
case("adaptive_avg_5to2", function(x) return F.adaptive_avg_pool2d(x, 2) end)
case("adaptive_avg_nonsquare", function(x) return F.adaptive_avg_pool2d(x, {3, 2}) end)
case("adaptive_avg_up", function(x) return F.adaptive_avg_pool2d(x, 5) end)
case("adaptive_avg_global", function(x) return F.adaptive_avg_pool2d(x, 1) end)
case("adaptive_max_7to3", function(x) return F.adaptive_max_pool2d(x, 3, true) end)
case("adaptive_max_5to2", function(x) return F.adaptive_max_pool2d(x, 2, true) end)
case("adaptive_max_nonsquare", function(x) return F.adaptive_max_pool2d(x, {3, 2}) end)

-- ---- the fixture ----

return T.reference_tests(FIXTURE, cases, {prefix = "layer_", tol = TOL, generator = "gen_torch_layers.py"})
