-- transforms/color.lua — color_jitter, torchvision's ColorJitter (0.14) on float tensors, and
-- the functional adjust_* it applies. All are differentiable w.r.t. the image, clamps
-- included (the gradient passes where the clamped value lies in [0, 1]).
--
--   T.color_jitter{brightness = 0.4, contrast = {0.6, 1.4}, saturation = 0.4, hue = 0.1}
--   T.color_jitter.apply(x, {order = {3, 1, 4, 2}, brightness = 1.2, contrast = 0.8,
--                            saturation = nil, hue = -0.05})
--
-- Ranges as ColorJitter._check_input: a number v means {max(0, 1 - v), 1 + v} for brightness,
-- contrast and saturation (v >= 0) and {-v, v} for hue (v <= 0.5); pairs are taken as given
-- (hue within [-0.5, 0.5]); a range of {1, 1} ({0, 0} for hue) turns that operation off.
-- Each call draws a random order of the four operations (loupe.randperm(4), 1-based:
-- 1 brightness, 2 contrast, 3 saturation, 4 hue) and then each enabled factor uniformly from
-- its range, in that order, as ColorJitter.get_params; one draw for the whole batch.
--
--   T.adjust_brightness(x, f)   clamp(f x, 0, 1)
--   T.adjust_contrast(x, f)     clamp(f x + (1 - f) mean, 0, 1); mean of the grayscale image
--                               (0.2989 R + 0.587 G + 0.114 B) over each image's C, H, W
--   T.adjust_saturation(x, f)   clamp(f x + (1 - f) gray, 0, 1) (one-channel images unchanged)
--   T.adjust_hue(x, f)          RGB -> HSV, h = (h + f) mod 1, HSV -> RGB; f in [-0.5, 0.5]
--                               (src/ops/color.c)
--   T.rgb_to_grayscale(x)       [..., 3, H, W] -> [..., 1, H, W]
-- x is [..., C, H, W] with C = 1 or 3.
local loupe = require "loupe"
local U = require "loupe.transforms.util"

local M = {}

local function check(fn, x)
  U.check_image(fn, x, 3, "an image [..., C, H, W]")
  local c = x:size(-3)
  if c ~= 1 and c ~= 3 then
    error(("%s: expected 1 or 3 channels, got %s"):format(fn, U.shape(x)), 3)
  end
  return c
end

local function factor(fn, f, lo, hi)
  if type(f) ~= "number" or not (f >= lo and f <= hi) then
    error(("%s: the factor must be a number in [%g, %g], got %s"):format(fn, lo, hi, tostring(f)), 3)
  end
end

function M.rgb_to_grayscale(x)
  if check("rgb_to_grayscale", x) == 1 then return x:clone() end
  local r, g, b = x:select(-3, 1), x:select(-3, 2), x:select(-3, 3)
  return (r * 0.2989 + g * 0.587 + b * 0.114):unsqueeze(-3)
end

-- torchvision's _blend: (ratio x + (1 - ratio) other):clamp(0, 1)
local function blend(x, other, ratio)
  return (x * ratio + other * (1.0 - ratio)):clamp(0, 1)
end

function M.adjust_brightness(x, f)
  check("adjust_brightness", x)
  factor("adjust_brightness", f, 0, math.huge)
  return (x * f):clamp(0, 1)
end

function M.adjust_contrast(x, f)
  local c = check("adjust_contrast", x)
  factor("adjust_contrast", f, 0, math.huge)
  if x:numel() == 0 then return x:clone() end
  local gray = c == 3 and M.rgb_to_grayscale(x) or x
  -- the mean over each image's last three dims, kept as [..., 1, 1, 1]
  local lead = x:shape()
  for _ = 1, 3 do table.remove(lead) end
  local flat = {table.unpack(lead)}
  flat[#flat + 1] = -1
  local keep = {table.unpack(lead)}
  for _ = 1, 3 do keep[#keep + 1] = 1 end
  local mean = gray:reshape(flat):mean(#flat, true):reshape(keep)
  return blend(x, mean, f)
end

function M.adjust_saturation(x, f)
  local c = check("adjust_saturation", x)
  factor("adjust_saturation", f, 0, math.huge)
  if c == 1 then return x end
  return blend(x, M.rgb_to_grayscale(x), f)
end

function M.adjust_hue(x, f)
  local c = check("adjust_hue", x)
  factor("adjust_hue", f, -0.5, 0.5)
  if c == 1 then return x end
  return loupe._tf.adjust_hue(x, f)
end

local NAME = "color_jitter"
local OPS = {"brightness", "contrast", "saturation", "hue"}
local ADJUST = {M.adjust_brightness, M.adjust_contrast, M.adjust_saturation, M.adjust_hue}

local function apply(x, p)
  local order = p.order or {1, 2, 3, 4}
  if type(order) ~= "table" or #order ~= 4 then
    error(NAME .. ": order must be a permutation of {1, 2, 3, 4}", 3)
  end
  local seen = {}
  for _, k in ipairs(order) do
    if not OPS[k] or seen[k] then error(NAME .. ": order must be a permutation of {1, 2, 3, 4}", 3) end
    seen[k] = true
  end
  for _, k in ipairs(order) do
    local f = p[OPS[k]]
    if f ~= nil then x = ADJUST[k](x, f) end
  end
  return x
end

local function sample(cfg)
  local p = {order = loupe.randperm(4):totable()}
  for _, name in ipairs(OPS) do
    local r = cfg[name]
    if r then p[name] = U.uniform(r[1], r[2]) end
  end
  return p
end

local function new(o, for_apply)
  local cfg = {}
  if for_apply then return cfg end
  for _, name in ipairs(OPS) do
    local v = o[name]
    if v ~= nil then
      local hue = name == "hue"
      if hue and type(v) == "number" and v > 0.5 then
        error(NAME .. ": hue must be in [0, 0.5] when a single number", 4)
      end
      local r = hue and U.range(NAME, v, name, 0, -0.5, 0.5, false)
                    or U.range(NAME, v, name, 1, 0, math.huge, true)
      local center = hue and 0 or 1
      if not (r[1] == center and r[2] == center) then cfg[name] = r end
    end
  end
  return cfg
end

local function describe(cfg)
  local parts = {}
  for _, name in ipairs(OPS) do
    if cfg[name] then parts[#parts + 1] = ("%s={%g, %g}"):format(name, cfg[name][1], cfg[name][2]) end
  end
  return "{" .. table.concat(parts, ", ") .. "}"
end

M.color_jitter = U.random_transform{
  name = NAME, min_dim = 3, what = "an image [..., C, H, W]",
  keys = OPS, new = new, sample = sample, apply = apply, describe = describe,
}

return M
