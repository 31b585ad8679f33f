-- transforms/blur.lua — gaussian_blur, torchvision's GaussianBlur (0.14) on float tensors.
--
--   T.gaussian_blur{kernel_size = 5, sigma = {0.1, 2.0}}       -- the defaults of sigma
--   T.gaussian_blur.apply(x, {sigma = 1.3}, {kernel_size = {5, 3}})
--   T.gaussian_blur.apply(x, {sigma = {1.3, 0.7}, kernel_size = 5})
--
-- kernel_size: an odd number, or {kx, ky} (kx along the width, as torchvision's functional
-- gaussian_blur reads it). sigma: a number s (always s) or a range {min, max} with
-- 0 < min <= max; each call draws one sigma ~ U(min, max) used along both axes. Reflect
-- padding needs kx // 2 < W and ky // 2 < H. Differentiable w.r.t. the image
-- (src/ops/blur.c). One draw per call for the whole batch.
local loupe = require "loupe"
local U = require "loupe.transforms.util"

local NAME = "gaussian_blur"

local function kernel_size(k)
  if type(k) == "number" then k = {k, k} end
  if type(k) ~= "table" or #k ~= 2 then error(NAME .. ": kernel_size must be a number or {kx, ky}", 5) end
  for i = 1, 2 do
    local v = math.tointeger(k[i])
    if not v or v < 1 or v % 2 == 0 then
      error(("%s: kernel_size must be odd and positive, got %s"):format(NAME, tostring(k[i])), 5)
    end
  end
  return {math.tointeger(k[1]), math.tointeger(k[2])}
end

local function apply(x, p, cfg)
  local ks = p.kernel_size and kernel_size(p.kernel_size) or cfg.kernel_size
  if not ks then error(NAME .. ".apply: kernel_size is required", 3) end
  local s = p.sigma
  if type(s) == "number" then s = {s, s} end
  if type(s) ~= "table" or #s ~= 2 or type(s[1]) ~= "number" or type(s[2]) ~= "number"
     or not (s[1] > 0 and s[2] > 0) then
    error(NAME .. ": sigma must be a positive number or {sigma_x, sigma_y}", 3)
  end
  return loupe._tf.gaussian_blur(x, ks[1], ks[2], s[1], s[2])
end

local function sample(cfg) return {sigma = U.uniform(cfg.sigma[1], cfg.sigma[2])} end

local function new(o, for_apply)
  local cfg = {}
  if o.kernel_size ~= nil then cfg.kernel_size = kernel_size(o.kernel_size) end
  if for_apply then return cfg end
  if not cfg.kernel_size then error(NAME .. ": kernel_size is required", 4) end
  local s = o.sigma or {0.1, 2.0}
  if type(s) == "number" then
    if not (s > 0) then error(NAME .. ": sigma must be positive", 4) end
    s = {s, s}
  elseif type(s) ~= "table" or #s ~= 2 or not (type(s[1]) == "number" and type(s[2]) == "number"
         and 0 < s[1] and s[1] <= s[2]) then
    error(NAME .. ": sigma must be a positive number or {min, max} with 0 < min <= max", 4)
  end
  cfg.sigma = {s[1], s[2]}
  return cfg
end

local function describe(cfg)
  return ("{kernel_size={%d, %d}, sigma={%g, %g}}"):format(cfg.kernel_size[1], cfg.kernel_size[2],
                                                          cfg.sigma[1], cfg.sigma[2])
end

return {
  gaussian_blur = U.random_transform{
    name = NAME, min_dim = 2, keys = {"kernel_size", "sigma"},
    new = new, sample = sample, apply = apply, describe = describe,
  },
}
