-- transforms/util.lua — what the transforms of loupe.transforms share: argument checks,
-- parameter ranges as torchvision parses them, draws from loupe's seeded generator, and the
-- shape of a random transform (constructor, one-off call, fixed-parameter apply).
local loupe = require "loupe"

local M = {}

function M.shape(t) return "[" .. table.concat(t:shape(), ",") .. "]" end

-- x must be a float32 tensor with at least `min_dim` dims (an image [..., H, W] by default).
function M.check_image(fn, x, min_dim, what)
  min_dim = min_dim or 2
  if not loupe.is_tensor(x) then error(fn .. ": expected a tensor, got " .. type(x), 3) end
  if x:dtype() ~= "float32" then
    error(("%s: expected a float32 tensor, got %s (convert with :float())"):format(fn, x:dtype()), 3)
  end
  if x:dim() < min_dim then
    error(("%s: expected %s, got %s"):format(fn, what or "an image [..., H, W]", M.shape(x)), 3)
  end
end

-- The samples a transform draws for separately: a batch [N, ..., H, W] (4 or more dims) has
-- N, an image [C, H, W] or [H, W] is one. (An empty batch counts as one sample of no planes.)
function M.image_samples(x) return x:dim() >= 4 and math.max(x:size(1), 1) or 1 end

function M.callable(v)
  if type(v) == "function" then return true end
  local mt = getmetatable(v)
  return type(mt) == "table" and mt.__call ~= nil
end

-- opts must be nil or a table with only the given keys.
function M.options(fn, opts, keys)
  if opts == nil then return {} end
  if type(opts) ~= "table" then error(("%s: options must be a table, got %s"):format(fn, type(opts)), 4) end
  local ok = {}
  for _, k in ipairs(keys) do ok[k] = true end
  for k in pairs(opts) do
    if not ok[k] then
      error(("%s: unknown option '%s' (expected one of: %s)"):format(fn, tostring(k), table.concat(keys, ", ")), 4)
    end
  end
  return opts
end

function M.number(fn, v, what)
  if type(v) ~= "number" or v ~= v then
    error(("%s: %s must be a number, got %s"):format(fn, what, tostring(v)), 4)
  end
  return v
end

function M.positive_int(fn, v, what)
  local i = type(v) == "number" and math.tointeger(v)
  if not i or i < 1 then error(("%s: %s must be a positive integer, got %s"):format(fn, what, tostring(v)), 4) end
  return i
end

-- A {lo, hi} range from a number or a pair, as torchvision's _check_input / _setup_angle: a
-- number v gives {center - v, center + v} (v >= 0; lo clipped at 0 when clip); a pair must
-- satisfy bound_lo <= lo <= hi <= bound_hi.
function M.range(fn, v, what, center, bound_lo, bound_hi, clip)
  if type(v) == "number" then
    if v < 0 then error(("%s: %s must be non-negative when a single number, got %g"):format(fn, what, v), 4) end
    local lo = center - v
    if clip and lo < 0 then lo = 0 end
    return {lo, center + v}
  end
  if type(v) ~= "table" or #v ~= 2 or type(v[1]) ~= "number" or type(v[2]) ~= "number" then
    error(("%s: %s must be a number or {min, max}"):format(fn, what), 4)
  end
  if not (bound_lo <= v[1] and v[1] <= v[2] and v[2] <= bound_hi) then
    error(("%s: %s must satisfy %g <= min <= max <= %g, got {%g, %g}"):format(
      fn, what, bound_lo, bound_hi, v[1], v[2]), 4)
  end
  return {v[1], v[2]}
end

-- Uniform on [lo, hi] from loupe's seeded generator (one draw).
function M.uniform(lo, hi) return lo + (hi - lo) * loupe.rand(1):item() end

-- Python's round(): halves go to the even neighbour.
function M.round_half_even(v)
  local f = math.floor(v)
  local d = v - f
  if d > 0.5 or (d == 0.5 and f % 2 == 1) then f = f + 1 end
  return math.tointeger(f) or f
end

-- A random transform from spec = {name, keys (constructor options), new(opts) -> cfg,
-- sample(cfg, x) -> params, apply(x, params, cfg) -> y}. Returns the table T with
--   T{opts}                 a callable transform object (obj(x) draws and applies;
--                           obj:get_params(x) only draws)
--   T(x [, opts])           one draw applied to x
--   T.apply(x, params [, opts])  the transform with fixed parameters (opts as the
--                           constructor's, for the options that are not drawn)
function M.random_transform(spec)
  local Obj = {}
  Obj.__index = Obj
  function Obj:get_params(x) return spec.sample(self.cfg, x) end
  function Obj:__call(x)
    M.check_image(spec.name, x, spec.min_dim, spec.what)
    return spec.apply(x, spec.sample(self.cfg, x), self.cfg)
  end
  function Obj:__tostring() return spec.name .. (spec.describe and spec.describe(self.cfg) or "") end
  local function make(opts)
    return setmetatable({cfg = spec.new(M.options(spec.name, opts, spec.keys))}, Obj)
  end
  local T = {}
  function T.apply(x, params, opts)
    M.check_image(spec.name, x, spec.min_dim, spec.what)
    if type(params) ~= "table" then error(spec.name .. ".apply: params must be a table", 2) end
    return spec.apply(x, params, spec.new(M.options(spec.name, opts, spec.keys), true))
  end
  return setmetatable(T, {__call = function(_, a, b)
    if loupe.is_tensor(a) then return make(b)(a) end
    return make(a)
  end})
end

return M
