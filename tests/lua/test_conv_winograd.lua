-- test_conv_winograd.lua — conv2d's Winograd path (src/nn/winograd.c: 3x3 kernels, stride 1,
-- one group, at least 64 channels in and out) against its im2col path, which
-- test_torch_layers.lua checks against PyTorch. The same convolution goes through im2col when
-- written as two groups of the same data: cat(x, x) over channels with cat(w, w) over outputs,
-- whose first half of outputs is conv(x, w). Both sides are float32 and round differently, so
-- the errors are measured against the largest value: |diff| <= 1e-5 max |ref| (F(2x2, 3x3)'s
-- own are a few 1e-7; weight gradients sum hundreds to thousands of terms, whose rounding
-- makes small entries differ by more than 1e-5 of themselves on either side).
local loupe = require "loupe"
local T = require "testlib"
local F = loupe.functional

local tests = {}

-- conv(x, w, b) through im2col: the first of two identical groups.
local function im2col_conv(x, w, b, padding)
  local O = w:shape()[1]
  local b2 = b and loupe.cat({b, b}, 1) or nil
  local opts = {padding = padding, groups = 2}
  return F.conv2d(loupe.cat({x, x}, 2), loupe.cat({w, w}, 1), b2, opts):narrow(2, 1, O)
end

local function winograd_conv(x, w, b, padding)
  return F.conv2d(x, w, b, {padding = padding})
end

-- Output and the gradients of (y * gy):sum() for fresh leaves; `grads` names the inputs that
-- want one ("x", "w", "b").
local function run(conv, x, w, b, gy, padding, grads)
  local xs, ws, bs = x:clone(), w:clone(), b and b:clone()
  if grads.x then xs:requires_grad_() end
  if grads.w then ws:requires_grad_() end
  if bs and grads.b then bs:requires_grad_() end
  local y = conv(xs, ws, bs, padding)
  ;(y * gy):sum():backward()
  return y:detach(), xs.grad, ws.grad, bs and bs.grad
end

-- x [N, C, H, W], w [O, C, 3, 3] (scaled as a trained layer's), bias if `bias`.
-- a and b within tol of b's largest magnitude.
local function close(a, b, what)
  local scale = b:abs():max():item()
  T.close(a / scale, b / scale, 1e-5, what)
end

local function check(what, N, C, H, W, O, padding, bias, grads)
  local x = loupe.randn(N, C, H, W)
  local w = loupe.randn(O, C, 3, 3) * (1 / math.sqrt(9 * C))
  local b = bias and loupe.randn(O) or nil
  local gy = loupe.randn(N, O, H + 2 * padding - 2, W + 2 * padding - 2)
  local y1, gx1, gw1, gb1 = run(winograd_conv, x, w, b, gy, padding, grads)
  local y2, gx2, gw2, gb2 = run(im2col_conv, x, w, b, gy, padding, grads)
  close(y1, y2, what .. ": output")
  T.eq(gx1 == nil, gx2 == nil, what .. ": input gradient wanted")
  T.eq(gw1 == nil, gw2 == nil, what .. ": weight gradient wanted")
  if gx1 then close(gx1, gx2, what .. ": input gradient") end
  if gw1 then close(gw1, gw2, what .. ": weight gradient") end
  if gb1 then close(gb1, gb2, what .. ": bias gradient") end
end

local ALL = {x = true, w = true, b = true}

tests.winograd_matches_im2col = function()
  loupe.manual_seed(21)
  -- odd output sizes (partial 2x2 tiles), 70 outputs (a partial vector of 16 channels)
  check("9x11, padding 1", 2, 64, 9, 11, 70, 1, true, ALL)
  -- 65 inputs (a partial vector), no padding, no bias
  check("7x6, padding 0", 3, 65, 7, 6, 64, 0, false, ALL)
  -- padding 2: tiles reaching two rows into the padding
  check("5x5, padding 2", 1, 64, 5, 5, 80, 2, true, ALL)
  -- ResNet's last stage: 7x7 maps, 512 channels
  check("7x7, 512 channels", 2, 512, 7, 7, 512, 1, false, ALL)
end

tests.winograd_one_gradient = function()
  loupe.manual_seed(22)
  check("input gradient only", 2, 64, 8, 8, 64, 1, true, {x = true})
  check("weight gradient only", 2, 64, 8, 8, 64, 1, true, {w = true, b = true})
end

-- 64 -> 64 channels at 64x64: 8 MB of Winograd buffers per image, so with winograd.c's 32 MB
-- budget 5 images go in chunks of 3 and 2 (the weight gradient adds up over chunks).
tests.winograd_chunks = function()
  loupe.manual_seed(23)
  check("two chunks", 5, 64, 64, 64, 64, 1, true, ALL)
end

return tests
