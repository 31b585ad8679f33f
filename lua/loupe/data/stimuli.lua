-- data/stimuli.lua — synthetic stimuli for the contrast-probing experiment, as datasets the
-- loader and transforms take like any other (loupe.data.stimuli). Drawing kernels in C
-- (src/data/stimuli.c, loupe._stimuli).
--
--   stimuli.shapes{n =, size = 224, seed =, kinds = {"circle", "ellipse", "rectangle"}}
--       n images uint8 [n,3,size,size]: one filled shape in a random colour (each channel
--       uniform in 0..255) on grey 128. y = the kind's position in `kinds`, classes = kinds.
--       Half-extents (radius, semi-axes, half-sides) are whole pixels uniform in 10-40 % of
--       size, the centre keeps the whole shape inside, an ellipse's angle is uniform over
--       whole degrees 0..179, rectangles are axis-aligned (as cv2.rectangle). ds.geometry
--       float32 [n,5] holds centre column, centre row (1-based), a, b, angle (degrees);
--       ds.colours uint8 [n,3] the RGB colours.
--   stimuli.contrast_pairs{n =, size = 224, seed =, kinds =, range = {0.04, 1}}
--       The shape images at two contrasts a1, a2 uniform in range: x float32 [n,2,3,size,size]
--       with x[i][j] = (1 - aj) / 2 + aj * img / 255; y = 1 when a1 > a2, else 2;
--       ds.contrasts float32 [n,2]; ds.shape_y and ds.shape_classes the shapes' labels,
--       ds.geometry and ds.colours as for shapes.
--       Memory: 24 size^2 bytes a pair (1.2 MB at 224), as the pairs are stored as floats.
--   stimuli.grating{size =, sf =, theta = 0, phase = 0, contrast = 1, channels = 3}
--       float32 [channels,size,size]: (v + 1) / 2 with
--       v = contrast * cos((cos(theta) x + sin(theta) y) / lambda + phase)
--                    * exp(-(x^2 + y^2) / (2 sigma^2)),
--       lambda = (size / 2) / (pi sf), sigma = size / 6, x = column - 1 - floor(size / 2) and
--       y = row - 1 - floor(size / 2) for 1-based rows and columns (the seed's grid: the
--       window peaks at 1 on the pixel at column and row floor(size / 2) + 1). sf is in cycles
--       per image, theta and phase in radians.
--   stimuli.grating_pairs{size =, sf =, contrast =, orientations = 13, phase = 0}
--       For theta = 0, pi / (k - 1), ..., pi (k = orientations; 13 gives steps of pi / 12),
--       two pairs each: {grating, grey} (y = 1) then {grey, grating} (y = 2), grey being the
--       contrast-0 image (uniform 0.5). x float32 [2k,2,3,size,size], ds.theta float32 [2k],
--       ds.contrasts float32 [2k,2].
--
-- Seeds: without `seed`, draws come from the global generator (loupe.manual_seed governs
-- them and they advance it). With `seed`, the generator's position is saved, reseeded with
-- `seed`, and restored afterwards, so the same seed gives the same images and the global
-- stream is left where it was.
--
-- Every dataset is a loupe.data dataset (data/dataset.lua): ds.x, ds.y (int64, 1-based),
-- ds.classes, #ds, ds[i], ds:get(i) and ds:loader{batch_size =, shuffle =, ...}. A pair
-- batch is [b,2,3,size,size]; a probe splits it with x:select(2, 1) and x:select(2, 2).
local loupe = require "loupe"

local M = {}

local MIN_SIZE, MAX_SIZE = 8, 4096
local PAIR_CLASSES = {"first", "second"}

-- The dataset object of every loupe.data reader (#ds, ds[i], ds:get(i), ds:loader, ...).
local dataset = require("loupe.data.dataset").new

-- Option checking. `fn` names the public function in messages; errors point at its caller.
local function check_options(fn, opts, allowed)
  if type(opts) ~= "table" then
    error(("%s: expected an options table, got %s"):format(fn, type(opts)), 3)
  end
  for k in pairs(opts) do
    if not allowed[k] then error(("%s: unknown option '%s'"):format(fn, tostring(k)), 3) end
  end
end

local function integer(fn, opts, key, default, lo, hi)
  local v = opts[key]
  if v == nil then v = default end
  local i = math.type(v) == "integer" and v or (math.type(v) == "float" and math.tointeger(v))
  if not i or i < lo or (hi and i > hi) then
    local range = hi and ("in [%d, %d]"):format(lo, hi) or ("at least %d"):format(lo)
    error(("%s: %s must be an integer %s, got %s"):format(fn, key, range, tostring(v)), 3)
  end
  return i
end

local function number(fn, opts, key, default, lo, hi)
  local v = opts[key]
  if v == nil then v = default end
  if type(v) ~= "number" or v ~= v or v == math.huge or v == -math.huge
      or (lo and v < lo) or (hi and v > hi) then
    local range = lo and hi and (" in [%g, %g]"):format(lo, hi) or ""
    error(("%s: %s must be a finite number%s, got %s"):format(fn, key, range, tostring(v)), 3)
  end
  return v
end

local function positive(fn, opts, key)
  local v = opts[key]
  if type(v) ~= "number" or not (v > 0) or v == math.huge then
    error(("%s: %s must be a positive number, got %s"):format(fn, key, tostring(v)), 3)
  end
  return v
end

local KINDS = {circle = true, ellipse = true, rectangle = true}

local function kinds_of(fn, opts)
  local kinds = opts.kinds or {"circle", "ellipse", "rectangle"}
  if type(kinds) ~= "table" or #kinds == 0 then
    error(fn .. ": kinds must be a non-empty list of shape names", 3)
  end
  local copy, seen = {}, {}
  for i, k in ipairs(kinds) do
    if not KINDS[k] then
      error(("%s: unknown shape kind '%s' (expected circle, ellipse or rectangle)"):format(
        fn, tostring(k)), 3)
    end
    if seen[k] then error(("%s: shape kind '%s' listed twice"):format(fn, k), 3) end
    copy[i], seen[k] = k, true
  end
  return copy
end

-- An error from below (out of memory) restated under the public function's name.
local function message(fn_name, err)
  return fn_name .. ": " .. (tostring(err):gsub("^[^:\n]*%.lua:%d+: ", ""))
end

-- fn(...), its errors restated by message() and raised at the public function's caller.
local function call(fn_name, fn, ...)
  local results = table.pack(pcall(fn, ...))
  if not results[1] then error(message(fn_name, results[2]), 3) end
  return table.unpack(results, 2, results.n)
end

-- Runs fn(...) with the generator reseeded to `seed` and restores its position afterwards
-- (also on error); with seed == nil, runs fn on the global stream.
local function with_seed(fn_name, seed, fn, ...)
  if seed == nil then return call(fn_name, fn, ...) end
  if math.type(seed) ~= "integer" then
    error(("%s: seed must be an integer, got %s"):format(fn_name, tostring(seed)), 3)
  end
  local saved = loupe.get_rng_state()
  loupe.manual_seed(seed)
  local results = table.pack(pcall(fn, ...))
  loupe.set_rng_state(saved)
  if not results[1] then error(message(fn_name, results[2]), 3) end
  return table.unpack(results, 2, results.n)
end

local SHAPE_OPTS = {n = true, size = true, seed = true, kinds = true}

function M.shapes(opts)
  local fn = "stimuli.shapes"
  check_options(fn, opts, SHAPE_OPTS)
  local n = integer(fn, opts, "n", nil, 1)
  local size = integer(fn, opts, "size", 224, MIN_SIZE, MAX_SIZE)
  local kinds = kinds_of(fn, opts)
  local x, y, geometry, colours = with_seed(fn, opts.seed, loupe._stimuli.shapes, n, size, kinds)
  return dataset{name = fn, x = x, y = y, classes = kinds, geometry = geometry, colours = colours,
                 size = size}
end

local PAIR_OPTS = {n = true, size = true, seed = true, kinds = true, range = true}

function M.contrast_pairs(opts)
  local fn = "stimuli.contrast_pairs"
  check_options(fn, opts, PAIR_OPTS)
  local n = integer(fn, opts, "n", nil, 1)
  local size = integer(fn, opts, "size", 224, MIN_SIZE, MAX_SIZE)
  local kinds = kinds_of(fn, opts)
  local range = opts.range or {0.04, 1}
  local lo, hi = type(range) == "table" and range[1], type(range) == "table" and range[2]
  if type(lo) ~= "number" or type(hi) ~= "number" or not (0 <= lo and lo <= hi and hi <= 1) then
    error(fn .. ": range must be {lo, hi} with 0 <= lo <= hi <= 1", 2)
  end
  local img, shape_y, geometry, colours, contrasts = with_seed(fn, opts.seed, function()
    local im, sy, geo, rgb = loupe._stimuli.shapes(n, size, kinds)
    return im, sy, geo, rgb, loupe.rand(n, 2):mul_(hi - lo):add_(lo)
  end)
  local x = call(fn, loupe._stimuli.contrast, img, contrasts)
  img:free()
  -- 1 when the first image has the higher contrast, else 2
  local y = contrasts:select(2, 1):le(contrasts:select(2, 2)):float():add_(1):long()
  return dataset{name = fn, x = x, y = y, classes = PAIR_CLASSES, contrasts = contrasts,
                 shape_y = shape_y, shape_classes = kinds, geometry = geometry, colours = colours,
                 size = size}
end

local GRATING_OPTS = {size = true, sf = true, theta = true, phase = true, contrast = true,
                      channels = true}

function M.grating(opts)
  local fn = "stimuli.grating"
  check_options(fn, opts, GRATING_OPTS)
  local size = integer(fn, opts, "size", nil, MIN_SIZE, MAX_SIZE)
  local sf = positive(fn, opts, "sf")
  local theta = number(fn, opts, "theta", 0)
  local phase = number(fn, opts, "phase", 0)
  local contrast = number(fn, opts, "contrast", 1, 0, 1)
  local channels = integer(fn, opts, "channels", 3, 1, 4)
  return loupe._stimuli.grating(size, sf, theta, phase, contrast, channels)
end

local GRATING_PAIR_OPTS = {size = true, sf = true, contrast = true, orientations = true,
                           phase = true}

function M.grating_pairs(opts)
  local fn = "stimuli.grating_pairs"
  check_options(fn, opts, GRATING_PAIR_OPTS)
  local size = integer(fn, opts, "size", nil, MIN_SIZE, MAX_SIZE)
  local sf = positive(fn, opts, "sf")
  local contrast = number(fn, opts, "contrast", nil, 0, 1)
  local k = integer(fn, opts, "orientations", 13, 1, 360)
  local phase = number(fn, opts, "phase", 0)
  local x = call(fn, loupe.full, {2 * k, 2, 3, size, size}, 0.5) -- grey: the contrast-0 image
  local thetas, labels, contrasts = {}, {}, {}
  for i = 1, k do
    local theta = k == 1 and 0 or (i - 1) * math.pi / (k - 1)
    local g = loupe._stimuli.grating(size, sf, theta, phase, contrast, 3)
    local j = 2 * i - 1
    x[{j, 1}], labels[j], thetas[j], contrasts[j] = g, 1, theta, {contrast, 0}
    x[{j + 1, 2}], labels[j + 1], thetas[j + 1], contrasts[j + 1] = g, 2, theta, {0, contrast}
  end
  return dataset{name = fn, x = x, y = loupe.tensor(labels, "int64"),
                 classes = PAIR_CLASSES, theta = loupe.tensor(thetas),
                 contrasts = loupe.tensor(contrasts), sf = sf, size = size}
end

return M
