-- transforms/augment.lua — the data augmentations of training batches: random_crop,
-- hflip / random_hflip and gaussian_noise. Unlike torchvision applied to a batch tensor, each
-- sample of a [N, ...] batch gets its own draw (its own crop offset, flip coin, noise coin),
-- as when torchvision transforms every image of a DataLoader batch separately.
--
--   T.random_crop{size = 32, padding = 4, fill = 0, pad_if_needed = false}
--       torchvision's RandomCrop: pad (padding: a number for all sides, {lr, tb}, or
--       {left, top, right, bottom}) with `fill`, then a size = {h, w} (or a number) window at
--       top ~ randint(0, H' - h + 1), left ~ randint(0, W' - w + 1) in the padded image
--       (no draw when the sizes are equal); pad_if_needed pads a side shorter than the crop
--       by the difference on both ends first. Fixed parameters:
--       T.random_crop.apply(x, {top = i, left = j}, {size = 24, padding = 4}) with i, j
--       numbers or int64 tensors [N] (0-based, padded coordinates, as get_params' i, j).
--   T.hflip(x)                       mirror the width (torchvision's hflip)
--   T.random_hflip{p = 0.5}          flip each sample with probability p;
--       T.random_hflip.apply(x, {flip = true | false | uint8 tensor [N]})
--   T.gaussian_noise{mean = 0, std = 1, p = 0.5}
--       kornia's RandomGaussianNoise: each sample, with probability p, gets N(mean, std^2)
--       added to every element; no clamping. One fused C pass with a vectorised normal
--       sampler (src/ops/noise.c). Samples: the first dim of [N, D] features and of
--       [N, C, H, W] batches; a [C, H, W] image is one sample.
-- All are differentiable w.r.t. the input (crops pass no gradient to the padding).
local loupe = require "loupe"
local U = require "loupe.transforms.util"

local M = {}

-- ---- random_crop ----

local function size_pair(fn, s)
  if type(s) == "number" then
    local v = U.positive_int(fn, s, "size")
    return {v, v}
  end
  if type(s) ~= "table" or #s ~= 2 then error(fn .. ": size must be a number or {h, w}", 5) end
  return {U.positive_int(fn, s[1], "size[1]"), U.positive_int(fn, s[2], "size[2]")}
end

-- {left, top, right, bottom} from torchvision's padding forms
local function padding4(fn, p)
  if p == nil then return {0, 0, 0, 0} end
  local function nonneg(v)
    local i = math.tointeger(v)
    if not i or i < 0 then error(("%s: padding must hold non-negative integers, got %s"):format(fn, tostring(v)), 6) end
    return i
  end
  if type(p) == "number" then
    local v = nonneg(p)
    return {v, v, v, v}
  end
  if type(p) == "table" and #p == 2 then return {nonneg(p[1]), nonneg(p[2]), nonneg(p[1]), nonneg(p[2])} end
  if type(p) == "table" and #p == 4 then return {nonneg(p[1]), nonneg(p[2]), nonneg(p[3]), nonneg(p[4])} end
  error(fn .. ": padding must be a number, {left/right, top/bottom} or {left, top, right, bottom}", 5)
end

-- The padding actually applied to an H x W image for a crop of `size` (pad_if_needed
-- included) and the padded size.
local function padded(cfg, size, h, w)
  local pad = {table.unpack(cfg.padding)}
  local ph, pw = h + pad[2] + pad[4], w + pad[1] + pad[3]
  if cfg.pad_if_needed and pw < size[2] then
    local d = size[2] - pw
    pad[1], pad[3], pw = pad[1] + d, pad[3] + d, pw + 2 * d
  end
  if cfg.pad_if_needed and ph < size[1] then
    local d = size[1] - ph
    pad[2], pad[4], ph = pad[2] + d, pad[4] + d, ph + 2 * d
  end
  if ph < size[1] or pw < size[2] then
    error(("random_crop: crop size {%d, %d} is larger than the padded image {%d, %d}"):format(
      size[1], size[2], ph, pw), 5)
  end
  return pad, ph, pw
end

local function offsets(v, n, what)
  if type(v) == "number" then
    local i = math.tointeger(v)
    if not i then error(("random_crop: %s must be an integer, got %s"):format(what, tostring(v)), 4) end
    return loupe.full({n}, i, "int64")
  end
  if not loupe.is_tensor(v) or v:dtype() ~= "int64" or v:dim() ~= 1 or v:size(1) ~= n then
    error(("random_crop: %s must be a number or an int64 tensor [%d]"):format(what, n), 4)
  end
  return v:contiguous()
end

M.random_crop = U.random_transform{
  name = "random_crop", min_dim = 2, keys = {"size", "padding", "fill", "pad_if_needed"},
  new = function(o, for_apply)
    if o.size == nil and not for_apply then error("random_crop: size is required", 4) end
    local fill = o.fill or 0
    if type(fill) ~= "number" then error("random_crop: fill must be a number", 4) end
    return {size = o.size ~= nil and size_pair("random_crop", o.size) or nil,
            padding = padding4("random_crop", o.padding), fill = fill,
            pad_if_needed = o.pad_if_needed == true}
  end,
  sample = function(cfg, x)
    local _, ph, pw = padded(cfg, cfg.size, x:size(-2), x:size(-1))
    local n = U.image_samples(x)
    if ph == cfg.size[1] and pw == cfg.size[2] then return {top = 0, left = 0} end
    return {top = loupe.randint(0, ph - cfg.size[1] + 1, n), left = loupe.randint(0, pw - cfg.size[2] + 1, n)}
  end,
  apply = function(x, p, cfg)
    local size = p.size ~= nil and size_pair("random_crop", p.size) or cfg.size
    if not size then error("random_crop.apply: size is required", 3) end
    local pad = padded(cfg, size, x:size(-2), x:size(-1))
    local n = U.image_samples(x)
    return loupe._tf.crop(x, n, offsets(p.top or 0, n, "top"), offsets(p.left or 0, n, "left"),
                          size[1], size[2], cfg.fill, pad[2], pad[1])
  end,
  describe = function(cfg)
    return ("{size={%d, %d}, padding={%s}}"):format(cfg.size[1], cfg.size[2], table.concat(cfg.padding, ", "))
  end,
}

-- ---- flips ----

function M.hflip(x)
  U.check_image("hflip", x)
  return loupe._tf.hflip(x, U.image_samples(x))
end

M.random_hflip = U.random_transform{
  name = "random_hflip", min_dim = 2, keys = {"p"},
  new = function(o)
    local p = o.p or 0.5
    if type(p) ~= "number" or not (p >= 0 and p <= 1) then
      error("random_hflip: p must be a probability in [0, 1]", 4)
    end
    return {p = p}
  end,
  sample = function(cfg, x) return {flip = loupe.rand(U.image_samples(x)):lt(cfg.p)} end,
  apply = function(x, p)
    local n, f = U.image_samples(x), p.flip
    if f == true then return loupe._tf.hflip(x, n) end
    if f == false or f == nil then return x:clone() end
    if not loupe.is_tensor(f) or f:dim() ~= 1 or f:size(1) ~= n then
      error(("random_hflip: flip must be a boolean or a tensor [%d]"):format(n), 3)
    end
    return loupe._tf.hflip(x, n, f:ne(0):contiguous())
  end,
  describe = function(cfg) return ("{p=%g}"):format(cfg.p) end,
}

-- ---- gaussian_noise ----

local function noise_samples(x)
  if x:dim() == 2 or x:dim() >= 4 then return x:size(1) end
  return 1
end

M.gaussian_noise = U.random_transform{
  name = "gaussian_noise", min_dim = 1, what = "a tensor",
  keys = {"mean", "std", "p"},
  new = function(o)
    local cfg = {mean = o.mean or 0, std = o.std or 1, p = o.p or 0.5}
    U.number("gaussian_noise", cfg.mean, "mean")
    U.number("gaussian_noise", cfg.std, "std")
    if type(cfg.p) ~= "number" or not (cfg.p >= 0 and cfg.p <= 1) then
      error("gaussian_noise: p must be a probability in [0, 1]", 4)
    end
    return cfg
  end,
  sample = function() return {} end, -- the coins and the noise are drawn in C
  apply = function(x, _, cfg)
    if x:numel() == 0 then return x:clone() end
    return loupe._tf.add_noise(x, noise_samples(x), cfg.mean, cfg.std, cfg.p)
  end,
  describe = function(cfg) return ("{mean=%g, std=%g, p=%g}"):format(cfg.mean, cfg.std, cfg.p) end,
}

return M
