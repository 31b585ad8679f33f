-- transforms.lua — image transforms on tensors, with torchvision's semantics
-- (torchvision.transforms.functional on tensors, 0.14). Loaded lazily as loupe.transforms.
--
-- Every transform works on float32 images [C, H, W] and batches [N, C, H, W] and has two
-- forms: a function of the image, and a constructor that returns a callable transform for
-- compose / a loader's transform option:
--   T.resize(x, 256)  and  T.resize(256);   T.normalize(x, mean, std)  and
--   T.normalize{mean = ..., std = ...};     T.random_affine(x, {degrees = 10})  and
--   T.random_affine{degrees = 10};          T.compose{t1, t2, ...}
-- The random ones draw from loupe's seeded generator and also take fixed parameters
-- (T.random_affine.apply(x, params), ...), which is how they are checked against
-- torchvision's functional API. They live in lua/loupe/transforms/: augment.lua
-- (random_crop, hflip, random_hflip, gaussian_noise), affine.lua (random_affine),
-- color.lua (color_jitter, adjust_*), blur.lua (gaussian_blur).
--
--   transforms.resize(x, size [, {antialias = true}])
--       x [..., H, W] float32. size = {h, w}, or a number: the shorter side becomes `size`
--       and the longer one int(size * long / short), exactly torchvision's rule. Bilinear;
--       antialias = true is PIL's / torchvision's antialiased filter, false plain bilinear
--       (align_corners = false). Differentiable. (C op: loupe.interpolate.)
--   transforms.center_crop(x, size)
--       size = {h, w} or a number (square). Offsets round((H - h) / 2) with Python's
--       round-half-to-even, as torchvision; a crop larger than the image pads it with zeros
--       first (as torchvision). Returns a view when no padding is needed.
--   transforms.normalize(x, mean, std)
--       (x - mean[c]) / std[c] per channel; x [..., C, H, W], mean/std tables of C numbers.
--
-- The ImageNet preprocessing of torchvision's classifiers is then
--   normalize(center_crop(resize(img, 256), 224), M.IMAGENET_MEAN, M.IMAGENET_STD).
local loupe = require "loupe"

local M = {}

-- A named callable transform (what the constructors return).
local Transform = {}
Transform.__index = Transform
function Transform:__call(x) return self.fn(x) end
function Transform:__tostring() return self.name end
local function transform(name, fn) return setmetatable({name = name, fn = fn}, Transform) end

local function describe_size(size)
  return type(size) == "table" and ("{%s}"):format(table.concat(size, ", ")) or tostring(size)
end

M.IMAGENET_MEAN = {0.485, 0.456, 0.406}
M.IMAGENET_STD = {0.229, 0.224, 0.225}

local function check_image(fn, x)
  if not loupe.is_tensor(x) then error(fn .. ": expected a tensor, got " .. type(x), 3) end
  if x:dim() < 2 then
    error(("%s: expected an image [..., H, W], got [%s]"):format(fn, table.concat(x:shape(), ",")), 3)
  end
  return x:size(-2), x:size(-1)
end

local function positive_int(fn, v, what)
  local i = type(v) == "number" and math.tointeger(v)
  if not i or i < 1 then
    error(("%s: %s must be a positive integer, got %s"):format(fn, what, tostring(v)), 4)
  end
  return i
end

-- (h, w) from a number or {h, w}
local function pair(fn, size)
  if type(size) == "number" then
    local s = positive_int(fn, size, "size")
    return s, s
  end
  if type(size) ~= "table" or #size ~= 2 then
    error(fn .. ": size must be a number or {h, w}", 3)
  end
  return positive_int(fn, size[1], "size[1]"), positive_int(fn, size[2], "size[2]")
end

-- torchvision's _compute_resized_output_size (without max_size)
function M.resized_size(h, w, size)
  if type(size) ~= "number" then return pair("resize", size) end
  size = positive_int("resize", size, "size")
  local short, long = math.min(h, w), math.max(h, w)
  local new_long = math.floor(size * long / short) -- Python's int() of a positive float
  if w <= h then return new_long, size end
  return size, new_long
end

function M.resize(x, size, opts)
  if not loupe.is_tensor(x) then -- resize(size [, opts]): the transform
    local s, o = x, size
    return transform("resize(" .. describe_size(s) .. ")", function(img) return M.resize(img, s, o) end)
  end
  local h, w = check_image("resize", x)
  local oh, ow = M.resized_size(h, w, size)
  local antialias = true
  if opts and opts.antialias ~= nil then antialias = opts.antialias and true or false end
  return loupe.interpolate(x, {oh, ow}, {antialias = antialias})
end

-- Python's round() of n / 2 for an integer n: halves go to the even neighbour.
local function half_round_even(n)
  local q = n // 2
  if n % 2 == 1 and q % 2 == 1 then q = q + 1 end
  return q
end

-- zeros around x's last two dims: top, bottom, left, right (differentiable through cat)
local function pad_zeros(x, top, bottom, left, right)
  local shape = x:shape()
  local nd = #shape
  local function band(dim, n)
    local s = {table.unpack(shape)}
    s[dim] = n
    return loupe.zeros(s)
  end
  if left + right > 0 then
    local parts = {}
    if left > 0 then parts[#parts + 1] = band(nd, left) end
    parts[#parts + 1] = x
    if right > 0 then parts[#parts + 1] = band(nd, right) end
    x = loupe.cat(parts, nd)
    shape = x:shape()
  end
  if top + bottom > 0 then
    local parts = {}
    if top > 0 then parts[#parts + 1] = band(nd - 1, top) end
    parts[#parts + 1] = x
    if bottom > 0 then parts[#parts + 1] = band(nd - 1, bottom) end
    x = loupe.cat(parts, nd - 1)
  end
  return x
end

function M.center_crop(x, size)
  if not loupe.is_tensor(x) then -- center_crop(size): the transform
    local s = x
    return transform("center_crop(" .. describe_size(s) .. ")", function(img) return M.center_crop(img, s) end)
  end
  local h, w = check_image("center_crop", x)
  local ch, cw = pair("center_crop", size)
  if ch > h or cw > w then
    local dh, dw = math.max(ch - h, 0), math.max(cw - w, 0)
    x = pad_zeros(x, dh // 2, (dh + 1) // 2, dw // 2, (dw + 1) // 2)
    h, w = x:size(-2), x:size(-1)
    if ch == h and cw == w then return x end
  end
  local top, left = half_round_even(h - ch), half_round_even(w - cw)
  return x:narrow(-2, top + 1, ch):narrow(-1, left + 1, cw)
end

function M.normalize(x, mean, std)
  if not loupe.is_tensor(x) then -- normalize{mean = m, std = s}, normalize{m, s}, normalize(m, s)
    local m, sd = x, mean
    if type(x) == "table" and x.mean ~= nil then
      m, sd = x.mean, x.std
    elseif type(x) == "table" and type(x[1]) == "table" then -- normalize{{...}, {...}}
      m, sd = x[1], x[2]
    end
    if type(m) ~= "table" or type(sd) ~= "table" then
      error("normalize: expected normalize(x, mean, std) or normalize{mean = {...}, std = {...}}", 2)
    end
    return transform("normalize", function(img) return M.normalize(img, m, sd) end)
  end
  check_image("normalize", x)
  if x:dim() < 3 then error("normalize: expected an image [..., C, H, W]", 2) end
  local c = x:size(-3)
  if type(mean) ~= "table" or type(std) ~= "table" or #mean ~= c or #std ~= c then
    error(("normalize: mean and std must be tables of %d numbers (one per channel)"):format(c), 2)
  end
  for i = 1, c do
    if std[i] == 0 then error("normalize: std must not be zero (channel " .. i .. ")", 2) end
  end
  return (x - loupe.tensor(mean):view(c, 1, 1)) / loupe.tensor(std):view(c, 1, 1)
end

-- compose{t1, t2, ...}: x -> tn(...t2(t1(x))); the transforms are functions or callables.
function M.compose(ts)
  if type(ts) ~= "table" then error("compose: expected a table of transforms", 2) end
  local names = {}
  for i, t in ipairs(ts) do
    local mt = getmetatable(t)
    if type(t) ~= "function" and not (type(mt) == "table" and mt.__call) then
      error(("compose: element %d is a %s, not a transform"):format(i, type(t)), 2)
    end
    names[i] = type(t) == "function" and "function" or tostring(t)
  end
  local list = {table.unpack(ts)}
  return transform("compose{" .. table.concat(names, ", ") .. "}", function(x)
    for _, t in ipairs(list) do x = t(x) end
    return x
  end)
end

for _, sub in ipairs{"augment", "affine", "color", "blur"} do
  for k, v in pairs(require("loupe.transforms." .. sub)) do M[k] = v end
end

return M
