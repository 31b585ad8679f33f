-- transforms/affine.lua — random_affine, torchvision's RandomAffine (0.14) on tensors.
--
--   T.random_affine{degrees = 10, translate = {0.1, 0.1}, scale = {0.9, 1.1},
--                   shear = nil, interpolation = "nearest", fill = 0, center = nil,
--                   per_sample = false}
--   T.random_affine.apply(x, {angle = 30, translate = {2, -1}, scale = 1.1, shear = {5, 0}}
--                         [, {interpolation = "bilinear", fill = 0, center = {cx, cy}}])
--
-- Parameters are drawn as RandomAffine.get_params: angle ~ U(degrees) (a number d means
-- {-d, d}); tx = round(U(-translate[1] * W, translate[1] * W)), ty likewise with H (Python's
-- round, half to even); scale ~ U(scale); shear_x ~ U(shear[1], shear[2]) (a number s means
-- {-s, s}), shear_y ~ U(shear[3], shear[4]) when four values are given. Options that are nil
-- draw nothing. The warp is F.affine's: the inverse matrix of _get_inverse_affine_matrix
-- about the image centre (or `center`, in pixel coordinates), then grid_sample-style sampling
-- with align_corners = false, "nearest" (torchvision's default) or "bilinear", and
-- torchvision's fill step (src/ops/affine.c). Differentiable w.r.t. the image.
--
-- One draw per call for the whole batch, as torchvision applied to a batch tensor;
-- per_sample = true draws for each sample of a [N, ...] batch instead.
local loupe = require "loupe"
local U = require "loupe.transforms.util"

local NAME = "random_affine"

-- torchvision's _get_inverse_affine_matrix (inverted = true) in double.
local function inverse_matrix(center, angle, translate, scale, shear)
  local rot, sx, sy = math.rad(angle), math.rad(shear[1]), math.rad(shear[2])
  local cx, cy = center[1], center[2]
  local tx, ty = translate[1], translate[2]
  local a = math.cos(rot - sy) / math.cos(sy)
  local b = -math.cos(rot - sy) * math.tan(sx) / math.cos(sy) - math.sin(rot)
  local c = math.sin(rot - sy) / math.cos(sy)
  local d = -math.sin(rot - sy) * math.tan(sx) / math.cos(sy) + math.cos(rot)
  local m = {d / scale, -b / scale, 0.0, -c / scale, a / scale, 0.0}
  m[3] = m[3] + m[1] * (-cx - tx) + m[2] * (-cy - ty)
  m[6] = m[6] + m[4] * (-cx - tx) + m[5] * (-cy - ty)
  m[3] = m[3] + cx
  m[6] = m[6] + cy
  return m
end

-- One parameter set's matrix for an image of width w, height h.
local function matrix_of(p, cfg, w, h)
  local angle = U.number(NAME, p.angle or 0, "angle")
  local t = p.translate or {0, 0}
  local scale = U.number(NAME, p.scale or 1, "scale")
  if scale <= 0 then error(("%s: scale must be positive, got %g"):format(NAME, scale), 4) end
  local shear = p.shear or {0, 0}
  if type(shear) == "number" then shear = {shear, 0} end
  if type(t) ~= "table" or #t ~= 2 or type(shear) ~= "table" or #shear ~= 2 then
    error(NAME .. ": translate must be {tx, ty} and shear a number or {sx, sy}", 4)
  end
  local center = {0.0, 0.0}
  if cfg.center then center = {cfg.center[1] - w * 0.5, cfg.center[2] - h * 0.5} end
  return inverse_matrix(center, angle, {t[1] * 1.0, t[2] * 1.0}, scale, shear)
end

local function apply(x, params, cfg)
  local h, w = x:size(-2), x:size(-1)
  local n = U.image_samples(x)
  local mats = {}
  if params[1] ~= nil then -- one parameter set per sample
    if #params ~= n then
      error(("%s: %d parameter sets for %d samples"):format(NAME, #params, n), 3)
    end
    for i = 1, n do mats[i] = matrix_of(params[i], cfg, w, h) end
  else
    mats[1] = matrix_of(params, cfg, w, h)
  end
  -- one fill value per plane of a sample (channel c of [..., C, H, W] gets fill[c])
  local c = x:dim() >= 3 and x:size(-3) or 1
  local planes = x:numel() // math.max(h * w, 1) // n
  local fill = cfg.fill
  if type(fill) == "number" then fill = {fill} end
  if #fill ~= 1 and #fill ~= c then
    error(("%s: fill must be a number or %d numbers (one per channel), got %d"):format(NAME, c, #fill), 3)
  end
  local per_plane = {}
  for k = 1, planes do per_plane[k] = fill[#fill == 1 and 1 or ((k - 1) % c) + 1] end
  return loupe._tf.affine(x, n, mats, per_plane, cfg.interpolation)
end

local function sample_one(cfg, w, h)
  local p = {angle = U.uniform(cfg.degrees[1], cfg.degrees[2]), translate = {0, 0}, scale = 1.0,
             shear = {0.0, 0.0}}
  if cfg.translate then
    local mx, my = cfg.translate[1] * w, cfg.translate[2] * h
    p.translate = {U.round_half_even(U.uniform(-mx, mx)), U.round_half_even(U.uniform(-my, my))}
  end
  if cfg.scale then p.scale = U.uniform(cfg.scale[1], cfg.scale[2]) end
  if cfg.shear then
    p.shear[1] = U.uniform(cfg.shear[1], cfg.shear[2])
    if #cfg.shear == 4 then p.shear[2] = U.uniform(cfg.shear[3], cfg.shear[4]) end
  end
  return p
end

local function sample(cfg, x)
  local h, w = x:size(-2), x:size(-1)
  if not cfg.per_sample then return sample_one(cfg, w, h) end
  local ps = {}
  for i = 1, U.image_samples(x) do ps[i] = sample_one(cfg, w, h) end
  return ps
end

local function pair01(v, what, lo_excl)
  if type(v) ~= "table" or #v ~= 2 or type(v[1]) ~= "number" or type(v[2]) ~= "number" then
    error(("%s: %s must be {a, b}"):format(NAME, what), 5)
  end
  for _, t in ipairs(v) do
    if lo_excl and not (t > 0) then error(("%s: %s values must be positive"):format(NAME, what), 5) end
    if not lo_excl and not (t >= 0 and t <= 1) then
      error(("%s: %s values must be in [0, 1]"):format(NAME, what), 5)
    end
  end
  return {v[1], v[2]}
end

local function new(o, for_apply)
  local cfg = {interpolation = o.interpolation or "nearest", fill = o.fill or 0, center = o.center,
               per_sample = o.per_sample == true}
  if cfg.interpolation ~= "nearest" and cfg.interpolation ~= "bilinear" then
    error(("%s: interpolation must be \"nearest\" or \"bilinear\", got %s"):format(NAME, tostring(cfg.interpolation)), 4)
  end
  if type(cfg.fill) ~= "number" and type(cfg.fill) ~= "table" then
    error(NAME .. ": fill must be a number or a table of numbers", 4)
  end
  if cfg.center ~= nil and (type(cfg.center) ~= "table" or #cfg.center ~= 2) then
    error(NAME .. ": center must be {x, y}", 4)
  end
  if for_apply then return cfg end
  if o.degrees == nil then error(NAME .. ": degrees is required (0 for no rotation)", 4) end
  if type(o.degrees) == "number" then
    if o.degrees < 0 then error(NAME .. ": degrees must be non-negative when a single number", 4) end
    cfg.degrees = {-o.degrees, o.degrees}
  else
    cfg.degrees = U.range(NAME, o.degrees, "degrees", 0, -math.huge, math.huge)
  end
  if o.translate ~= nil then cfg.translate = pair01(o.translate, "translate") end
  if o.scale ~= nil then cfg.scale = pair01(o.scale, "scale", true) end
  if o.shear ~= nil then
    local s = o.shear
    if type(s) == "number" then
      if s < 0 then error(NAME .. ": shear must be non-negative when a single number", 4) end
      cfg.shear = {-s, s}
    elseif type(s) == "table" and (#s == 2 or #s == 4) then
      cfg.shear = {table.unpack(s)}
    else
      error(NAME .. ": shear must be a number, {min, max} or {xmin, xmax, ymin, ymax}", 4)
    end
  end
  return cfg
end

local function describe(cfg)
  local parts = {("degrees={%g, %g}"):format(cfg.degrees[1], cfg.degrees[2])}
  if cfg.translate then parts[#parts + 1] = ("translate={%g, %g}"):format(table.unpack(cfg.translate)) end
  if cfg.scale then parts[#parts + 1] = ("scale={%g, %g}"):format(table.unpack(cfg.scale)) end
  if cfg.shear then parts[#parts + 1] = "shear={" .. table.concat(cfg.shear, ", ") .. "}" end
  if cfg.interpolation ~= "nearest" then parts[#parts + 1] = "interpolation=" .. cfg.interpolation end
  return "{" .. table.concat(parts, ", ") .. "}"
end

local M = {}
M.inverse_matrix = inverse_matrix
M.random_affine = U.random_transform{
  name = NAME, min_dim = 2,
  keys = {"degrees", "translate", "scale", "shear", "interpolation", "fill", "center", "per_sample"},
  new = new, sample = sample, apply = apply, describe = describe,
}
return M
