-- test_transforms.lua — the augmentations of loupe.transforms: values and gradients against
-- torchvision 0.14 for fixed parameters (tests/fixtures/torch_transforms.safetensors from
-- tests/fixtures/gen_torch_transforms.py; each case here is the loupe spelling of the case of
-- the same name there), and the random side: parameter ranges, per-sample draws,
-- determinism under a seed, the noise's distribution, errors.
--
-- Tolerances: affine grids are computed in double here and in float32 by PyTorch, and blur is
-- separable here while PyTorch convolves with the float32 outer product, so results agree to
-- about 1e-6; 2e-5 leaves room. Colour operations repeat torchvision's float32 steps.
local loupe = require "loupe"
local T = require "testlib"
local TF = loupe.transforms

local FIXTURE = "tests/fixtures/torch_transforms.safetensors"
local TOL = 2e-5

local A, CJ, GB = TF.random_affine.apply, TF.color_jitter.apply, TF.gaussian_blur.apply

local cases = {
  affine_nearest = function(x)
    return A(x, {angle = 33.3, translate = {2, -1}, scale = 1.1, shear = {5, 0}})
  end,
  affine_bilinear_batch = function(x)
    return A(x, {angle = -20, translate = {1, 2}, scale = 0.9, shear = {10, -5}},
             {interpolation = "bilinear", fill = {0.1, 0.2, 0.3}})
  end,
  affine_bilinear_center = function(x)
    return A(x, {angle = 45}, {interpolation = "bilinear", fill = 0.5, center = {3, 4}})
  end,
  affine_nearest_90 = function(x) return A(x, {angle = 90}) end,
  affine_bilinear_1ch = function(x)
    return A(x, {angle = 12, translate = {-1, 1}, scale = 1.3, shear = {0, 8}}, {interpolation = "bilinear"})
  end,
  brightness = function(x) return TF.adjust_brightness(x, 1.3) end,
  contrast_batch = function(x) return TF.adjust_contrast(x, 0.7) end,
  contrast_gray = function(x) return TF.adjust_contrast(x, 1.8) end,
  saturation = function(x) return TF.adjust_saturation(x, 1.6) end,
  hue = function(x) return TF.adjust_hue(x, 0.23) end,
  hue_negative_batch = function(x) return TF.adjust_hue(x, -0.41) end,
  hue_ties = function(x) return TF.adjust_hue(x, 0.17) end,
  jitter_all = function(x)
    return CJ(x, {order = {3, 1, 4, 2}, brightness = 1.15, contrast = 0.75, saturation = 1.4, hue = 0.08})
  end,
  jitter_some = function(x) return CJ(x, {order = {4, 2, 1, 3}, brightness = 0.6, hue = -0.2}) end,
  grayscale = function(x) return TF.rgb_to_grayscale(x) end,
  blur_5 = function(x) return GB(x, {sigma = 1.3}, {kernel_size = 5}) end,
  blur_3x7_batch = function(x) return GB(x, {sigma = 0.8, kernel_size = {3, 7}}) end,
  blur_9_small = function(x) return GB(x, {sigma = 2, kernel_size = 9}) end,
  crop_pad2 = function(x)
    return TF.random_crop.apply(x, {top = 1, left = 5}, {size = {6, 7}, padding = 2, fill = 0.3})
  end,
  crop_pad4seq = function(x)
    return TF.random_crop.apply(x, {top = 7, left = 0}, {size = {5, 8}, padding = {1, 2, 3, 4}})
  end,
  hflip = function(x) return TF.hflip(x) end,
}

local ref = loupe.load(FIXTURE)
local tests = {}

for name, fn in pairs(cases) do
  tests["torchvision_" .. name] = function()
    local x, out = ref[name .. ".in"], ref[name .. ".out"]
    T.truthy(x and out, "fixture has no case " .. name)
    local w = ref[name .. ".w"]
    x = x:clone():requires_grad_(w ~= nil)
    local y = fn(x)
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

-- ---- random parameters ----

local function shape(t) return table.concat(t:shape(), ",") end

function tests.random_affine_params_follow_torchvision_ranges()
  loupe.manual_seed(3)
  local t = TF.random_affine{degrees = {10, 20}, translate = {0.1, 0.25}, scale = {0.5, 0.7},
                             shear = {1, 2, -4, -3}}
  local x = loupe.rand(3, 16, 40)
  for _ = 1, 50 do
    local p = t:get_params(x)
    T.truthy(p.angle >= 10 and p.angle <= 20, "angle")
    T.truthy(math.abs(p.translate[1]) <= 4 and math.abs(p.translate[2]) <= 4, "translate")
    T.eq(math.type(p.translate[1]), "integer")
    T.truthy(p.scale >= 0.5 and p.scale <= 0.7, "scale")
    T.truthy(p.shear[1] >= 1 and p.shear[1] <= 2 and p.shear[2] >= -4 and p.shear[2] <= -3, "shear")
  end
  local d = TF.random_affine{degrees = 7}:get_params(x)
  T.truthy(math.abs(d.angle) <= 7 and d.scale == 1 and d.translate[1] == 0 and d.shear[1] == 0, "defaults")
  -- the object applies exactly what it draws
  local state = loupe.get_rng_state()
  local y = t(x)
  loupe.set_rng_state(state)
  T.close(y, TF.random_affine.apply(x, t:get_params(x)), 0)
end

function tests.random_affine_per_sample()
  loupe.manual_seed(4)
  local x = loupe.rand(1, 1, 9, 9):expand(3, 1, 9, 9):contiguous()
  local y = TF.random_affine(x, {degrees = 60, per_sample = true, interpolation = "bilinear"})
  T.truthy((y[1] - y[2]):abs():max():item() > 1e-3, "samples differ")
  local same = TF.random_affine(x, {degrees = 60, interpolation = "bilinear"})
  T.close(same[1], same[3], 0, "one draw for the batch")
  -- explicit parameter sets, one per sample
  local ps = {{angle = 0}, {angle = 90}, {angle = 0}}
  local z = A(x, ps)
  T.close(z[1], x[1], 1e-6)
  T.close(z[2], A(x[2], {angle = 90}), 1e-6)
end

function tests.affine_2d_image_is_one_channel()
  local x = loupe.rand(7, 9)
  local p = {angle = 15, translate = {1, 0}}
  T.close(A(x, p, {interpolation = "bilinear"}), A(x:unsqueeze(1), p, {interpolation = "bilinear"}):squeeze(1), 0)
end

function tests.color_jitter_params()
  loupe.manual_seed(5)
  local t = TF.color_jitter{brightness = 0.5, contrast = {0.2, 0.3}, hue = 0.1}
  local seen = {}
  for _ = 1, 40 do
    local p = t:get_params()
    T.truthy(p.brightness >= 0.5 and p.brightness <= 1.5, "brightness")
    T.truthy(p.contrast >= 0.2 and p.contrast <= 0.3, "contrast")
    T.eq(p.saturation, nil)
    T.truthy(p.hue >= -0.1 and p.hue <= 0.1, "hue")
    local o = {table.unpack(p.order)}
    table.sort(o)
    T.eq(table.concat(o, ","), "1,2,3,4")
    seen[table.concat(p.order, ",")] = true
  end
  local n = 0
  for _ in pairs(seen) do n = n + 1 end
  T.truthy(n > 5, "the order is random")
  -- brightness 1.2 clips at 0 (max(0, 1 - 1.2)); {1, 1} turns the operation off
  T.eq(tostring(TF.color_jitter{brightness = 1.2}), "color_jitter{brightness={0, 2.2}}")
  T.eq(tostring(TF.color_jitter{contrast = {1, 1}, hue = 0}), "color_jitter{}")
end

function tests.gaussian_blur_draws_sigma()
  loupe.manual_seed(6)
  local t = TF.gaussian_blur{kernel_size = 3, sigma = {0.5, 0.6}}
  for _ = 1, 20 do
    local s = t:get_params().sigma
    T.truthy(s >= 0.5 and s <= 0.6, "sigma in range")
  end
  T.eq(tostring(TF.gaussian_blur{kernel_size = {3, 5}}), "gaussian_blur{kernel_size={3, 5}, sigma={0.1, 2}}")
end

function tests.random_crop_per_sample()
  loupe.manual_seed(7)
  local x = loupe.arange(0, 2 * 36):float():reshape(2, 1, 6, 6)
  local t = TF.random_crop{size = 4, padding = 1}
  local offsets = {}
  for _ = 1, 30 do
    local p = t:get_params(x)
    T.eq(shape(p.top), "2")
    for _, v in ipairs(p.top:totable()) do
      T.truthy(v >= 0 and v <= 4, "top in [0, H + 2 - 4]")
      offsets[v] = true
    end
  end
  T.truthy(offsets[0] and offsets[4], "the whole range is drawn")
  -- each sample gets its own window
  local p = {top = loupe.tensor({0, 3}, "int64"), left = loupe.tensor({2, 1}, "int64")}
  local y = TF.random_crop.apply(x, p, {size = 4, padding = 1})
  T.close(y[1], TF.random_crop.apply(x[1], {top = 0, left = 2}, {size = 4, padding = 1}), 0)
  T.close(y[2], TF.random_crop.apply(x[2], {top = 3, left = 1}, {size = 4, padding = 1}), 0)
  T.eq(y[{1, 1, 1, 1}]:item(), 0, "padding")
  -- pad_if_needed pads the short side on both ends, as torchvision
  local z = TF.random_crop.apply(loupe.ones(1, 3, 5), {top = 0, left = 0}, {size = {5, 5}, pad_if_needed = true})
  T.eq(shape(z), "1,5,5")
  T.eq(z:sum():item(), 15, "2 rows of padding above the 3 image rows")
  -- equal sizes draw nothing
  local st = loupe.get_rng_state()
  TF.random_crop{size = 6}:get_params(x)
  T.eq(loupe.get_rng_state()[2], st[2])
end

function tests.random_hflip_per_sample()
  loupe.manual_seed(8)
  local x = loupe.rand(64, 2, 3, 5)
  local y = TF.random_hflip{p = 0.5}(x)
  local flipped = 0
  for i = 1, 64 do
    local same = (y[i] - x[i]):abs():max():item() == 0
    if not same then
      T.close(y[i], TF.hflip(x[i]), 0)
      flipped = flipped + 1
    end
  end
  T.truthy(flipped > 16 and flipped < 48, "about half flipped: " .. flipped)
  T.close(TF.random_hflip.apply(x, {flip = false}), x, 0)
  T.close(TF.random_hflip.apply(x, {flip = true}), TF.hflip(x), 0)
  T.close(TF.hflip(TF.hflip(x)), x, 0)
end

-- ---- gaussian_noise ----

function tests.noise_distribution()
  loupe.manual_seed(9)
  local z = TF.gaussian_noise(loupe.zeros(512, 2048), {p = 1, mean = 0.5, std = 2})
  local v = (z - 0.5) / 2
  T.close(v:mean():item(), 0, 5e-3)
  T.close(v:std():item(), 1, 5e-3)
  -- fourth moment 3, fraction beyond 2 sigma 4.55 %, symmetric
  T.close(v:pow(4):mean():item(), 3, 2e-2)
  T.close(v:abs():gt(2):float():mean():item(), 0.0455, 2e-2)
  T.close(v:gt(0):float():mean():item(), 0.5, 5e-3)
  T.truthy(v:abs():max():item() < 6.7, "tails are cut at 6.66")
end

function tests.noise_per_sample_probability()
  loupe.manual_seed(10)
  local x = loupe.rand(400, 3, 4, 4)
  local y = TF.gaussian_noise{std = 0.1, p = 0.3}(x)
  local noisy = (y - x):abs():reshape(400, -1):max(2):gt(0):float()
  local frac = noisy:mean():item()
  T.truthy(frac > 0.2 and frac < 0.4, "about 30 % of the samples: " .. frac)
  -- p = 0 changes nothing
  T.close(TF.gaussian_noise(x, {p = 0}), x, 0)
  -- [C, H, W] is one sample: all or nothing
  for _ = 1, 5 do
    local d = (TF.gaussian_noise(x[1], {p = 0.5}) - x[1]):abs()
    T.truthy(d:max():item() == 0 or d:min():item() > 0, "one coin for the image")
  end
end

function tests.noise_is_deterministic_and_thread_independent()
  local threads = loupe.get_num_threads()
  local x = loupe.zeros(3, 100003)
  loupe.manual_seed(11)
  local a = TF.gaussian_noise(x, {p = 1})
  loupe.set_num_threads(1)
  loupe.manual_seed(11)
  local b = TF.gaussian_noise(x, {p = 1})
  loupe.set_num_threads(threads)
  T.truthy(a:equal(b), "same seed, different thread counts")
  local c = TF.gaussian_noise(x, {p = 1})
  T.truthy(not a:equal(c), "the generator advances")
  -- an element's noise depends on its position only: a prefix of a longer tensor matches
  loupe.manual_seed(12)
  local long = TF.gaussian_noise(loupe.zeros(1, 1000), {p = 1})
  loupe.manual_seed(12)
  local short = TF.gaussian_noise(loupe.zeros(1, 300), {p = 1})
  T.truthy(long:narrow(2, 1, 300):equal(short), "prefix")
end

function tests.noise_gradient_is_identity()
  local x = loupe.rand(4, 5):requires_grad_()
  local y = TF.gaussian_noise(x, {p = 1})
  T.eq(y:grad_fn(), "AddNoiseBackward")
  y:sum():backward()
  T.close(x.grad, loupe.ones(4, 5), 0)
end

-- ---- compose and the functional/constructor forms ----

function tests.compose_and_constructors()
  local x = loupe.rand(2, 3, 12, 10)
  local t = TF.compose{TF.resize({8, 8}), TF.center_crop(6), TF.normalize{mean = {0.5, 0.5, 0.5}, std = {2, 2, 2}},
                       function(v) return v * 2 end}
  local expect = TF.normalize(TF.center_crop(TF.resize(x, {8, 8}), 6), {0.5, 0.5, 0.5}, {2, 2, 2}) * 2
  T.close(t(x), expect, 0)
  T.truthy(tostring(t):find("compose{resize({8, 8}), center_crop(6), normalize, function}", 1, true), tostring(t))
  T.close(TF.normalize({0.5, 0.5, 0.5}, {2, 2, 2})(x), TF.normalize(x, {0.5, 0.5, 0.5}, {2, 2, 2}), 0)
  T.close(TF.normalize{{0.5, 0.5, 0.5}, {2, 2, 2}}(x), TF.normalize(x, {0.5, 0.5, 0.5}, {2, 2, 2}), 0)
  -- a random transform called on a tensor draws once and applies
  loupe.manual_seed(13)
  local a = TF.color_jitter(x, {brightness = 0.5})
  loupe.manual_seed(13)
  T.close(a, TF.color_jitter{brightness = 0.5}(x), 0)
end

-- the class-visualization use: gradients reach an optimised image through jitter, affine
-- and blur
function tests.gradient_through_random_pipeline()
  loupe.manual_seed(14)
  local img = loupe.rand(1, 3, 16, 16):requires_grad_()
  local t = TF.compose{TF.color_jitter{brightness = 0.2, contrast = 0.2, saturation = 0.2, hue = 0.05},
                       TF.random_affine{degrees = 10, translate = {0.1, 0.1}, interpolation = "bilinear"},
                       TF.gaussian_blur{kernel_size = 3}}
  t(img):sum():backward()
  T.eq(shape(img.grad), "1,3,16,16")
  T.truthy(img.grad:abs():sum():item() > 0, "gradient reaches the image")
end

function tests.empty_batches()
  local x = loupe.rand(0, 3, 8, 8)
  for _, t in ipairs{TF.random_affine{degrees = 10}, TF.color_jitter{brightness = 0.3, hue = 0.1},
                     TF.gaussian_blur{kernel_size = 3}, TF.random_hflip{}, TF.gaussian_noise{},
                     TF.hflip} do
    T.eq(shape(t(x)), "0,3,8,8")
  end
  T.eq(shape(TF.random_crop{size = 4, padding = 1}(x)), "0,3,4,4")
end

function tests.errors()
  local x = loupe.rand(3, 8, 8)
  T.raises(function() TF.random_affine{} end, "degrees is required")
  T.raises(function() TF.random_affine{degrees = 5, translate = {0.1, 2}} end, "translate values must be in [0, 1]")
  T.raises(function() TF.random_affine{degrees = 5, bogus = 1} end, "unknown option 'bogus'")
  T.raises(function() A(x, {angle = 5}, {interpolation = "bicubic"}) end, "interpolation must be")
  T.raises(function() A(x, {angle = 5}, {fill = {1, 2}}) end, "fill must be a number or 3 numbers")
  T.raises(function() A(x:long(), {angle = 5}) end, "expected a float32 tensor, got int64")
  T.raises(function() TF.color_jitter{hue = 0.7} end, "hue must be in [0, 0.5]")
  T.raises(function() TF.color_jitter{brightness = {1.5, 1.2}} end, "brightness must satisfy")
  T.raises(function() CJ(x, {order = {1, 1, 2, 3}}) end, "permutation")
  T.raises(function() TF.adjust_hue(x, 0.6) end, "in [-0.5, 0.5]")
  T.raises(function() TF.adjust_contrast(loupe.rand(2, 8, 8), 1.1) end, "expected 1 or 3 channels, got [2,8,8]")
  T.raises(function() TF.gaussian_blur{kernel_size = 4} end, "odd and positive")
  T.raises(function() TF.gaussian_blur{kernel_size = 3, sigma = {2, 1}} end, "0 < min <= max")
  T.raises(function() GB(x, {sigma = 1, kernel_size = 17}) end, "must be smaller than the image [3,8,8]")
  T.raises(function() TF.random_crop{size = 12}(x) end, "crop size {12, 12} is larger than the padded image {8, 8}")
  T.raises(function() TF.random_crop{padding = 1} end, "size is required")
  T.raises(function() TF.gaussian_noise{p = 2} end, "p must be a probability")
  T.raises(function() TF.random_hflip.apply(x, {flip = loupe.ones(3)}) end, "flip must be a boolean or a tensor [1]")
  T.raises(function() TF.compose{TF.hflip, 3} end, "element 2 is a number")
  T.raises(function() TF.gaussian_noise(loupe.rand(3, 4):long()) end, "float32")
end

return tests
