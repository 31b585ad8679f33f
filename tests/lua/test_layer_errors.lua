-- test_layer_errors.lua — bad arguments to the layer primitives of loupe.functional raise Lua
-- errors that name the op and the shapes or values involved (and never crash).
local loupe = require "loupe"
local T = require "testlib"
local F = loupe.functional

local tests = {}

local function x4(...) return loupe.randn(...) end

tests.conv2d_channels = function()
  T.raises(function() F.conv2d(x4(1, 3, 5, 5), x4(8, 4, 3, 3)) end,
           "conv2d: input has 3 channels, weight expects 4 ([8,4,3,3], groups=1)")
end

tests.conv2d_kernel_larger_than_input = function()
  T.raises(function() F.conv2d(x4(1, 1, 2, 2), x4(1, 1, 5, 5), {padding = 1}) end,
           "conv2d: kernel 5x5 (dilated 5x5) is larger than the padded input 4x4")
  T.raises(function() F.conv2d(x4(1, 1, 5, 5), x4(1, 1, 3, 3), {dilation = 3}) end,
           "(dilated 7x7) is larger than the padded input 5x5")
end

tests.conv2d_bad_params = function()
  T.raises(function() F.conv2d(x4(1, 1, 5, 5), x4(1, 1, 3, 3), {stride = 0}) end,
           "conv2d: stride and dilation must be positive")
  T.raises(function() F.conv2d(x4(1, 1, 5, 5), x4(1, 1, 3, 3), {padding = -1}) end,
           "padding non-negative")
  T.raises(function() F.conv2d(x4(1, 3, 5, 5), x4(4, 1, 3, 3), {groups = 2}) end,
           "conv2d: groups=2 must divide the input channels (3)")
  T.raises(function() F.conv2d(x4(1, 1, 5, 5), x4(1, 1, 3, 3), {groups = 0}) end,
           "conv2d: groups must be a positive integer")
  T.raises(function() F.conv2d(x4(1, 1, 5, 5), x4(1, 1, 3, 3), {padding = "full"}) end,
           "conv2d: padding must be a number, {h, w}, 'same' or 'valid'")
  T.raises(function() F.conv2d(x4(1, 1, 5, 5), x4(1, 1, 2, 2), {padding = "same"}) end,
           "would need uneven padding")
  T.raises(function() F.conv2d(x4(1, 1, 5, 5), x4(1, 1, 3, 3), {strides = 2}) end,
           "conv2d: unknown option 'strides'")
  T.raises(function() F.conv2d(x4(1, 1, 5, 5), x4(1, 1, 3, 3), {stride = {1, 2, 3}}) end,
           "conv2d: stride must be a number or {h, w}")
end

tests.conv2d_shapes = function()
  T.raises(function() F.conv2d(x4(5, 5), x4(1, 1, 3, 3)) end,
           "conv2d: input must be [N, C, H, W] (or [C, H, W]), got [5,5]")
  T.raises(function() F.conv2d(x4(1, 1, 5, 5), x4(1, 3, 3)) end,
           "conv2d: weight must be [out, in/groups, kh, kw], got [1,3,3]")
  T.raises(function() F.conv2d(x4(1, 1, 5, 5), x4(2, 1, 3, 3), x4(3)) end,
           "conv2d: bias [3] does not match weight [2,1,3,3]")
  T.raises(function() F.conv2d(x4(1, 1, 5, 5), "w") end, "conv2d")
  T.raises(function() F.conv2d(loupe.zeros({1, 1, 5, 5}, "int64"), x4(1, 1, 3, 3)) end,
           "conv2d: expected a float32 input, got int64 [1,1,5,5]")
end

tests.linear_shapes = function()
  T.raises(function() F.linear(x4(2, 3), x4(4, 5)) end,
           "linear: input [2,3] does not match weight [4,5] (expects [..., 5])")
  T.raises(function() F.linear(x4(2, 5), x4(4, 5), x4(3)) end,
           "linear: bias [3] does not match weight [4,5]")
  T.raises(function() F.linear(x4(2, 5), x4(5)) end, "linear: weight must be 2-D")
  T.raises(function() F.bilinear(x4(2, 5), x4(3, 5)) end,
           "bilinear: weight [3,5] must have an even number of rows")
end

tests.batch_norm_args = function()
  local x = x4(4, 3, 2, 2)
  T.raises(function() F.batch_norm(x, nil, nil, x4(4), nil, {training = true}) end,
           "batch_norm: weight [4] does not match the 3 channels of input [4,3,2,2]")
  T.raises(function() F.batch_norm(x, nil, nil) end,
           "batch_norm: eval mode needs running_mean and running_var")
  T.raises(function() F.batch_norm(x4(1, 3), nil, nil, nil, nil, {training = true}) end,
           "batch_norm: expected more than 1 value per channel when training (input [1,3])")
  T.raises(function() F.batch_norm(x4(3), nil, nil, {training = true}) end,
           "batch_norm: input must be [N, C] or [N, C, *], got [3]")
  T.raises(function() F.batch_norm(x, loupe.zeros(3), nil, {training = true}) end,
           "running_mean and running_var must be given together")
  T.raises(function() F.batch_norm(x, nil, nil, {trainig = true}) end,
           "batch_norm: unknown option 'trainig'")
end

tests.pool_args = function()
  local x = x4(1, 1, 4, 4)
  T.raises(function() F.max_pool2d(x, 5) end,
           "max_pool2d: kernel 5x5 (dilated) is larger than the padded input [1,1,4,4]")
  T.raises(function() F.max_pool2d(x, 2, {padding = 2}) end,
           "max_pool2d: padding should be between 0 and half the kernel size")
  T.raises(function() F.max_pool2d(x, 2, {stride = 0}) end,
           "max_pool2d: kernel, stride and dilation must be positive")
  T.raises(function() F.avg_pool2d(x, 0) end, "avg_pool2d: kernel, stride must be positive")
  T.raises(function() F.avg_pool2d(x, 2, {dilation = 2}) end, "avg_pool2d: unknown option 'dilation'")
  T.raises(function() F.max_pool2d(x4(4, 4), 2) end,
           "max_pool2d: input must be [N, C, H, W] (or [C, H, W]), got [4,4]")
  T.raises(function() F.adaptive_avg_pool2d(x, 0) end,
           "adaptive_avg_pool2d: output size must be positive, got 0x0")
  T.raises(function() F.adaptive_max_pool2d(x, {2}) end,
           "adaptive_max_pool2d: size must be a number or {h, w}")
  T.raises(function() F.max_pool2d(x) end, "bad argument #2")
end

tests.dropout_args = function()
  T.raises(function() F.dropout(x4(3), 1.5) end, "dropout: probability must be in [0, 1], got 1.5")
  T.raises(function() F.dropout(x4(3), -0.1) end, "dropout: probability must be in [0, 1]")
end

return tests
