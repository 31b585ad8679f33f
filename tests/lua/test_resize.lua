-- test_resize.lua — loupe.interpolate and loupe.transforms (resize, center_crop, normalize)
-- against torchvision 0.14 on tensors. tests/fixtures/torch_resize.safetensors holds, per
-- case, the input, torchvision's output and, for resizes, the gradient of (out * w):sum()
-- (tests/fixtures/gen_torch_resize.py). Each case here is the loupe spelling of the case of
-- the same name there. Tolerance: PyTorch computes the filter weights in float32 and loupe
-- in double (both store float32), so results agree to a few ulps.
local loupe = require "loupe"
local T = require "testlib"
local TF = loupe.transforms

local FIXTURE = "tests/fixtures/torch_resize.safetensors"
local TOL = 1e-5

local function interp(aa)
  return function(x, out) return loupe.interpolate(x, {out:size(-2), out:size(-1)}, {antialias = aa}) end
end

local cases = {
  aa_down2 = interp(true), aa_down_frac = interp(true), aa_mixed_4d = interp(true),
  aa_up = interp(true), aa_down_big = interp(true), aa_same_h = interp(true),
  plain_down_frac = interp(false), plain_up = interp(false), plain_mixed_4d = interp(false),
  tv_short_landscape = function(x) return TF.resize(x, 12) end,
  tv_short_portrait = function(x) return TF.resize(x, 9) end,
  tv_short_up = function(x) return TF.resize(x, 10) end,
  tv_pair = function(x) return TF.resize(x, {10, 13}) end,
  tv_plain = function(x) return TF.resize(x, 12, {antialias = false}) end,
  crop_odd = function(x) return TF.center_crop(x, 12) end,
  crop_rect = function(x) return TF.center_crop(x, {11, 16}) end,
  crop_pad = function(x) return TF.center_crop(x, {15, 12}) end,
}

local ref = loupe.load(FIXTURE)
local tests = {}

for name, fn in pairs(cases) do
  tests["torchvision_" .. name] = function()
    local x, out = ref[name .. ".in"], ref[name .. ".out"]
    T.truthy(x and out, "fixture has no case " .. name)
    local w = ref[name .. ".w"]
    x = x:clone():requires_grad_(w ~= nil)
    local y = fn(x, out)
    T.close(y, out, TOL, name .. " forward")
    if w then
      (y * w):sum():backward()
      T.close(x.grad, ref[name .. ".grad"], TOL, name .. " backward")
    end
  end
end

function tests.fixture_and_cases_agree()
  for key in pairs(ref) do
    local name = key:match("^(.*)%.in$")
    if name then T.truthy(cases[name], "no loupe case for fixture case " .. name) end
  end
end

-- torchvision's size rule int(size * long / short), and the ImageNet pipeline's shapes on the
-- photos' sizes
function tests.shorter_side_rule()
  local function sz(h, w, s) return table.concat({TF.resized_size(h, w, s)}, "x") end
  T.eq(sz(576, 768, 256), "256x341")
  T.eq(sz(512, 773, 256), "256x386")
  T.eq(sz(773, 512, 256), "386x256")
  T.eq(sz(100, 100, 7), "7x7")
  T.eq(sz(3, 7, 2), "2x4") -- 4.666 truncates
  T.eq(sz(5, 6, {2, 9}), "2x9")
end

-- identity when the size does not change; constant images stay constant (weights sum to 1)
function tests.identity_and_constant()
  local x = loupe.rand(2, 5, 7)
  T.truthy(loupe.interpolate(x, {5, 7}, {antialias = true}):equal(x), "identity aa")
  T.truthy(loupe.interpolate(x, {5, 7}):equal(x), "identity plain")
  local c = loupe.full({3, 31, 17}, 0.25)
  for _, s in ipairs{{4, 5}, {31, 2}, {60, 40}, {1, 1}} do
    T.close(loupe.interpolate(c, s, {antialias = true}), loupe.full({3, s[1], s[2]}, 0.25), 1e-6)
  end
end

-- an output only reads the pixels under its filter: an infinite pixel elsewhere stays out
function tests.pixels_outside_the_filter_do_not_leak()
  for _, aa in ipairs{true, false} do
    local x = loupe.zeros(1, 3, 20)
    x[{1, 2, 19}] = math.huge
    local y = loupe.interpolate(x, {3, 5}, {antialias = aa})
    T.eq(y[{1, 2, 5}]:item(), math.huge)
    T.eq(y[{{}, {}, {1, 4}}]:abs():sum():item(), 0, "untouched outputs")
    T.eq(y[{{}, {1}, {}}]:abs():sum():item() + y[{{}, {3}, {}}]:abs():sum():item(), 0, "other rows")
  end
end

-- a non-contiguous input gives the same result as its contiguous copy
function tests.noncontiguous_input()
  local x = loupe.rand(3, 11, 9):transpose(2, 3)
  T.close(loupe.interpolate(x, {4, 6}, {antialias = true}),
          loupe.interpolate(x:contiguous(), {4, 6}, {antialias = true}), 0)
end

-- the gradient w.r.t. an image being optimised flows through the whole preprocessing
function tests.pipeline_is_differentiable()
  local img = loupe.rand(3, 40, 50):requires_grad_()
  local x = TF.normalize(TF.center_crop(TF.resize(img, 20), 16), TF.IMAGENET_MEAN, TF.IMAGENET_STD)
  T.eq(table.concat(x:shape(), ","), "3,16,16")
  x:sum():backward()
  T.eq(table.concat(img.grad:shape(), ","), "3,40,50")
  T.truthy(img.grad:abs():sum():item() > 0, "gradient reaches the image")
end

function tests.normalize_per_channel()
  local x = loupe.rand(2, 3, 4, 5)
  local y = TF.normalize(x, {0.1, 0.2, 0.3}, {0.5, 2, 4})
  T.close(y[{{}, {2}}], (x[{{}, {2}}] - 0.2) / 2, 1e-6)
  T.raises(function() TF.normalize(x, {0.1, 0.2}, {1, 1}) end, "tables of 3 numbers")
  T.raises(function() TF.normalize(x, {0, 0, 0}, {1, 0, 1}) end, "std must not be zero")
end

function tests.errors()
  T.raises(function() loupe.interpolate(loupe.rand(5), {2, 2}) end, "resize: expected an image [..., H, W], got [5]")
  T.raises(function() loupe.interpolate(loupe.rand(3, 4, 4):long(), {2, 2}) end, "float32")
  T.raises(function() loupe.interpolate(loupe.rand(3, 0, 4), {2, 2}) end, "cannot resize [3,0,4]")
  T.raises(function() loupe.interpolate(loupe.rand(3, 4, 4), {2}) end, "size must be {h, w}")
  T.raises(function() loupe.interpolate(loupe.rand(3, 4, 4), {2, 0}) end, "positive integers")
  T.raises(function() loupe.interpolate(loupe.rand(3, 4, 4), {2, 2}, {mode = "bicubic"}) end,
           "mode 'bicubic' is not supported")
  T.raises(function() TF.resize(loupe.rand(3, 4, 4), 2.5) end, "size must be a positive integer")
  T.raises(function() TF.resize(loupe.rand(3, 4, 4), {2}) end, "size must be a number or {h, w}")
  T.raises(function() TF.center_crop(loupe.rand(4), 2) end, "center_crop: expected an image")
end

return tests
