-- test_stimuli.lua — loupe.data.stimuli: shapes against a Lua reference rasteriser and the
-- analytic areas, contrast pairs against the formula, gratings against a Lua evaluation of
-- their formula, seeds, dataset protocol, and the errors for bad options.
local loupe = require "loupe"
local T = require "testlib"
local S = require "loupe.data.stimuli"

local tests = {}

local function geometry(ds, i)
  local g = ds.geometry[i]:totable()
  return {cx = g[1], cy = g[2], a = g[3], b = g[4], angle = g[5]}
end

-- The rasterisation rule written out again: pixel (row, col) takes the colour when its centre
-- is inside the shape or on its boundary (angles in whole degrees, exact at multiples of 90).
local function inside(kind, p, row, col)
  local dx, dy = col - p.cx, row - p.cy
  if kind == "circle" then return dx * dx + dy * dy <= p.a * p.a end
  if kind == "rectangle" then return math.abs(dx) <= p.a and math.abs(dy) <= p.b end
  local exact = {[0] = {1, 0}, [90] = {0, 1}}
  local cs, sn = math.cos(math.rad(p.angle)), math.sin(math.rad(p.angle))
  if exact[p.angle] then cs, sn = exact[p.angle][1], exact[p.angle][2] end
  local u, v = dx * cs + dy * sn, -dx * sn + dy * cs
  return u * u * p.b * p.b + v * v * p.a * p.a <= p.a * p.a * p.b * p.b
end

-- Reference image [3,S,S] (uint8) for sample i of a shapes dataset.
local function reference(ds, i)
  local size, p = ds.x:size(3), geometry(ds, i)
  local kind, rgb = ds.classes[ds.y[i]:item()], ds.colours[i]:totable()
  local img = {}
  for c = 1, 3 do
    img[c] = {}
    for row = 1, size do
      local r = {}
      for col = 1, size do r[col] = inside(kind, p, row, col) and rgb[c] or 128 end
      img[c][row] = r
    end
  end
  return loupe.tensor(img, "uint8")
end

-- Pixels of each image that are not background grey in every channel, as a Lua table.
local function areas(x)
  return x:ne(128):float():sum(2):gt(0):float():flatten(2):sum(2):totable()
end

function tests.shapes_match_reference_rasteriser()
  for _, size in ipairs({8, 33, 64}) do
    local ds = S.shapes{n = 12, size = size, seed = 11}
    T.eq(ds.x:dtype(), "uint8")
    T.eq(table.concat(ds.x:shape(), ","), "12,3," .. size .. "," .. size)
    for i = 1, #ds do
      T.truthy(ds.x[i]:equal(reference(ds, i)), ("size %d, image %d differs"):format(size, i))
    end
  end
end

function tests.shapes_background_colour_and_geometry()
  local ds = S.shapes{n = 40, size = 96, seed = 2}
  local lo, hi = math.floor(96 / 10 + 0.5), math.floor(0.4 * 96)
  for i = 1, #ds do
    local p, kind = geometry(ds, i), ds.classes[ds.y[i]:item()]
    local img, rgb = ds.x[i], ds.colours[i]:totable()
    -- the corners are always background (shapes stay inside, extents <= 40 %)
    T.eq(img[{1, 1, 1}]:item(), 128)
    T.eq(img[{3, 96, 96}]:item(), 128)
    for c = 1, 3 do T.eq(img[{c, p.cy, p.cx}]:item(), rgb[c], "centre colour") end
    T.truthy(p.a >= lo and p.a <= hi and p.b >= lo and p.b <= hi, "extents in 10-40 %")
    local r = kind == "ellipse" and math.max(p.a, p.b) or p.a
    local ry = kind == "ellipse" and r or p.b
    T.truthy(p.cx - r >= 1 and p.cx + r <= 96 and p.cy - ry >= 1 and p.cy + ry <= 96,
             "shape inside the image")
    if kind == "circle" then T.eq(p.a, p.b) end
    if kind ~= "ellipse" then T.eq(p.angle, 0) end
    T.truthy(p.angle >= 0 and p.angle < 180 and math.type(p.angle) == "float")
  end
end

function tests.ellipse_orientation_follows_opencv()
  -- OpenCV: axis a points along (cos angle, sin angle) with y down (clockwise on screen)
  local ds = S.shapes{n = 40, size = 128, seed = 5, kinds = {"ellipse"}}
  local checked = 0
  for i = 1, #ds do
    local p = geometry(ds, i)
    if p.a >= p.b + 4 then
      local t = math.rad(p.angle)
      local function px(dist, along)
        local ux, uy = math.cos(t), math.sin(t)
        if not along then ux, uy = -uy, ux end
        local col, row = math.floor(p.cx + dist * ux + 0.5), math.floor(p.cy + dist * uy + 0.5)
        return ds.x[{i, 1, row, col}]:item()
      end
      local fg = ds.colours[{i, 1}]:item()
      if fg ~= 128 then
        T.eq(px(p.a - 1.5, true), fg, "inside along the major axis")
        T.eq(px(p.b + 2.5, false), 128, "outside across it")
        checked = checked + 1
      end
    end
  end
  T.truthy(checked >= 5, "too few elongated ellipses drawn")
end

function tests.shape_areas_close_to_analytic()
  local ds = S.shapes{n = 90, size = 224, seed = 7}
  local counts, worst = areas(ds.x), {0, 0, 0}
  for i = 1, #ds do
    local p, k = geometry(ds, i), ds.y[i]:item()
    local kind = ds.classes[k]
    local exact = kind == "rectangle" and (2 * p.a + 1) * (2 * p.b + 1) or math.pi * p.a * p.b
    local rel = math.abs(counts[i] - exact) / exact
    worst[k] = math.max(worst[k], rel)
    if kind == "rectangle" then T.eq(counts[i], exact, "rectangle area") end
  end
  -- half-extents >= 22 px: the lattice error of the boundary is well under 3 %
  T.truthy(worst[1] < 0.03, "circle area off by " .. worst[1])
  T.truthy(worst[2] < 0.03, "ellipse area off by " .. worst[2])
end

function tests.shape_labels_and_classes()
  local ds = S.shapes{n = 60, size = 32, seed = 1}
  T.eq(table.concat(ds.classes, ","), "circle,ellipse,rectangle")
  T.eq(ds.y:dtype(), "int64")
  local seen = {}
  for _, v in ipairs(ds.y:totable()) do seen[v] = true end
  T.truthy(seen[1] and seen[2] and seen[3] and not seen[0] and not seen[4], "labels 1..3")

  local two = S.shapes{n = 30, size = 32, seed = 1, kinds = {"rectangle", "circle"}}
  T.eq(table.concat(two.classes, ","), "rectangle,circle")
  for i = 1, #two do
    local p = geometry(two, i)
    T.eq(p.angle, 0)
    if two.y[i]:item() == 2 then T.eq(p.a, p.b, "circles have equal extents") end
    T.truthy(two.x[i]:equal(reference(two, i)))
  end
end

function tests.shapes_deterministic_under_seed()
  local a = S.shapes{n = 8, size = 48, seed = 42}
  local b = S.shapes{n = 8, size = 48, seed = 42}
  local c = S.shapes{n = 8, size = 48, seed = 43}
  T.truthy(a.x:equal(b.x) and a.y:equal(b.y) and a.geometry:equal(b.geometry))
  T.truthy(not a.x:equal(c.x), "different seeds give different images")
  -- image i depends on the seed and i only: a longer run starts with the same images
  local longer = S.shapes{n = 12, size = 48, seed = 42}
  T.truthy(longer.x:narrow(1, 1, 8):equal(a.x))
end

function tests.seed_leaves_global_stream_alone()
  loupe.manual_seed(9)
  local expected = loupe.rand(5)
  loupe.manual_seed(9)
  S.shapes{n = 3, size = 16, seed = 1}
  S.contrast_pairs{n = 3, size = 16, seed = 2}
  T.truthy(loupe.rand(5):equal(expected), "a seeded call moved the global generator")
  -- also when it fails
  loupe.manual_seed(9)
  T.raises(function() S.shapes{n = 2 ^ 40, size = 224, seed = 1} end,
           "stimuli.shapes: out of memory allocating tensor [1099511627776,3,224,224]")
  T.truthy(loupe.rand(5):equal(expected), "a failed seeded call moved the global generator")
  -- without a seed, the global generator decides (and advances)
  loupe.manual_seed(4)
  local u = S.shapes{n = 3, size = 16}
  local v = S.shapes{n = 3, size = 16}
  loupe.manual_seed(4)
  T.truthy(S.shapes{n = 3, size = 16}.x:equal(u.x))
  T.truthy(not u.x:equal(v.x))
end

function tests.contrast_pairs_formula_and_labels()
  local n, size = 16, 24
  local base = S.shapes{n = n, size = size, seed = 7}
  local ds = S.contrast_pairs{n = n, size = size, seed = 7}
  T.eq(table.concat(ds.x:shape(), ","), ("%d,2,3,%d,%d"):format(n, size, size))
  T.eq(ds.x:dtype(), "float32")
  T.eq(#ds, n)
  T.eq(table.concat(ds.classes, ","), "first,second")
  -- the pairs are the shapes drawn first under the same seed
  T.truthy(ds.geometry:equal(base.geometry) and ds.shape_y:equal(base.y))
  T.eq(table.concat(ds.shape_classes, ","), "circle,ellipse,rectangle")
  local img = base.x:float() / 255
  local c = ds.contrasts:totable()
  for i = 1, n do
    for j = 1, 2 do
      local a = c[i][j]
      T.truthy(a >= 0.04 and a < 1, "contrast in [0.04, 1)")
      T.close(ds.x[{i, j}], img[i] * a + (1 - a) / 2, 1e-6)
    end
    T.eq(ds.y[i]:item(), c[i][1] > c[i][2] and 1 or 2, "label = higher contrast")
  end
  T.truthy(ds.x:min():item() >= 0 and ds.x:max():item() <= 1)
  local again = S.contrast_pairs{n = n, size = size, seed = 7}
  T.truthy(again.x:equal(ds.x) and again.y:equal(ds.y))
  T.truthy(not S.contrast_pairs{n = n, size = size, seed = 8}.contrasts:equal(ds.contrasts))
  local r = S.contrast_pairs{n = 50, size = 8, seed = 1, range = {0.2, 0.3}}
  T.truthy(r.contrasts:min():item() >= 0.2 and r.contrasts:max():item() < 0.3, "range")
end

-- The grating formula evaluated in Lua (double precision), 1-based row and column.
local function grating_ref(size, sf, theta, phase, contrast, row, col)
  local half = size // 2
  local x, y = col - 1 - half, row - 1 - half
  local lambda = (size / 2) / (math.pi * sf)
  local sigma = size / 6
  local v = contrast * math.cos((math.cos(theta) * x + math.sin(theta) * y) / lambda + phase)
            * math.exp(-(x * x + y * y) / (2 * sigma * sigma))
  return (v + 1) / 2
end

function tests.grating_formula_values()
  local cases = {
    {size = 32, sf = 2, theta = 0, phase = 0, contrast = 1},
    {size = 33, sf = 3.5, theta = math.pi / 3, phase = 0.7, contrast = 0.25},
    {size = 64, sf = 8, theta = 2.5, phase = -1, contrast = 0.6},
  }
  for _, o in ipairs(cases) do
    local g = S.grating(o)
    T.eq(table.concat(g:shape(), ","), ("3,%d,%d"):format(o.size, o.size))
    T.truthy(g[1]:equal(g[2]) and g[1]:equal(g[3]), "three equal channels")
    for _, rc in ipairs({{1, 1}, {2, 7}, {o.size // 2 + 1, o.size // 2 + 1}, {o.size, 3},
                         {9, o.size - 4}, {o.size // 2, o.size // 2 + 3}}) do
      local want = grating_ref(o.size, o.sf, o.theta, o.phase, o.contrast, rc[1], rc[2])
      T.close(g[{1, rc[1], rc[2]}]:item(), want, 1e-6, ("pixel %d,%d"):format(rc[1], rc[2]))
    end
  end
  T.eq(S.grating{size = 16, sf = 1, channels = 1}:size(1), 1)
end

function tests.grating_peak_at_centre()
  for _, size in ipairs({32, 33}) do
    for _, theta in ipairs({0, 1.1}) do
      local g = S.grating{size = size, sf = 2, theta = theta, contrast = 0.8}
      local c = size // 2 + 1
      T.close(g[{1, c, c}]:item(), 0.9, 1e-7, "centre value (1 + contrast) / 2")
      T.close(g:max():item(), 0.9, 1e-7, "the centre is the maximum")
    end
  end
end

function tests.grating_contrast_zero_is_grey()
  local g = S.grating{size = 20, sf = 3, theta = 0.4, contrast = 0}
  T.truthy(g:eq(0.5):float():min():item() == 1, "contrast 0 is uniform 0.5")
end

function tests.grating_pairs_orientation_sweep()
  local ds = S.grating_pairs{size = 32, sf = 4, contrast = 0.3}
  T.eq(#ds, 26)
  T.eq(table.concat(ds.x:shape(), ","), "26,2,3,32,32")
  local th = ds.theta:totable()
  for k = 1, 13 do
    T.close(th[2 * k - 1], (k - 1) * math.pi / 12, 1e-6)
    T.eq(th[2 * k], th[2 * k - 1])
  end
  for i = 1, #ds do
    local y = ds.y[i]:item()
    T.eq(y, i % 2 == 1 and 1 or 2, "both orders")
    local grey, grating = ds.x[{i, 3 - y}], ds.x[{i, y}]
    T.truthy(grey:eq(0.5):float():min():item() == 1, "the other image is uniform grey")
    local theta = ((i + 1) // 2 - 1) * math.pi / 12
    T.truthy(grating:equal(S.grating{size = 32, sf = 4, theta = theta, contrast = 0.3}))
    T.close(ds.contrasts[{i, y}]:item(), 0.3, 1e-7)
    T.eq(ds.contrasts[{i, 3 - y}]:item(), 0)
  end
  T.eq(#S.grating_pairs{size = 16, sf = 1, contrast = 1, orientations = 1}, 2)
  T.eq(#S.grating_pairs{size = 16, sf = 1, contrast = 1, orientations = 5}, 10)
end

function tests.dataset_protocol()
  local ds = S.shapes{n = 5, size = 16, seed = 3}
  T.eq(#ds, 5)
  local s = ds[4]
  T.truthy(s.x:equal(ds.x[4]))
  T.eq(s.y, ds.y[4]:item())
  T.raises(function() return ds[6] end, "index 6 out of range")
  T.raises(function() return ds[0] end, "index 0 out of range")
  local x, y = ds:get(2)
  T.truthy(x:equal(ds.x[2]) and y == ds.y[2]:item())
  T.eq(type(ds.loader), "function")
  T.eq(loupe.data.stimuli, S, "reachable as loupe.data.stimuli")
  T.eq(getmetatable(ds), loupe.data.Dataset, "the loupe.data dataset object")
end

function tests.loader_batches()
  local ds = S.shapes{n = 10, size = 16, seed = 1}
  local seen = 0
  for x, y in ds:loader{batch_size = 4, shuffle = false} do
    local b = x:size(1)
    T.truthy(x:equal(ds.x:narrow(1, seen + 1, b):float() / 255), "uint8 shapes scaled to [0, 1]")
    T.truthy(y:equal(ds.y:narrow(1, seen + 1, b)))
    seen = seen + b
  end
  T.eq(seen, 10)

  -- pairs stay together: a batch is [b,2,3,H,W], and every row is one of the dataset's pairs
  local pd = S.contrast_pairs{n = 9, size = 16, seed = 2}
  local used, total = {}, 0
  for x, y in pd:loader{batch_size = 4, shuffle = true, seed = 5} do
    T.eq(table.concat(x:shape(), ",", 2), "2,3,16,16")
    for r = 1, x:size(1) do
      local match
      for i = 1, #pd do
        if not used[i] and x[r]:equal(pd.x[i]) then match = i end
      end
      T.truthy(match, "batch row is one of the dataset's pairs")
      used[match] = true
      T.eq(y[r]:item(), pd.y[match]:item())
      total = total + 1
    end
  end
  T.eq(total, 9)

  local g = S.grating_pairs{size = 16, sf = 2, contrast = 0.5, orientations = 4}
  local n = 0
  for x, y in g:loader{batch_size = 8, shuffle = false, transform = function(b) return b * 2 end} do
    T.truthy(x:equal(g.x * 2) and y:equal(g.y), "transform applied to the pair batch")
    n = n + 1
  end
  T.eq(n, 1)
end

function tests.bad_options()
  T.raises(function() S.shapes{n = 4, size = 0} end,
           "stimuli.shapes: size must be an integer in [8, 4096], got 0")
  T.raises(function() S.shapes{n = 4, size = -3} end, "stimuli.shapes: size")
  T.raises(function() S.shapes{n = 4, size = 100000} end, "stimuli.shapes: size")
  T.raises(function() S.shapes{n = 4, size = 31.5} end, "stimuli.shapes: size")
  T.raises(function() S.shapes{n = 0} end, "stimuli.shapes: n must be an integer at least 1")
  T.raises(function() S.shapes{size = 32} end, "stimuli.shapes: n must be")
  T.raises(function() S.shapes{n = 2, kinds = {"triangle"}} end,
           "stimuli.shapes: unknown shape kind 'triangle' (expected circle, ellipse or rectangle)")
  T.raises(function() S.shapes{n = 2, kinds = {"circle", "circle"}} end,
           "stimuli.shapes: shape kind 'circle' listed twice")
  T.raises(function() loupe._stimuli.shapes(2, 16, {"circle", "circle"}) end,
           "shapes: shape kind 'circle' listed twice")
  T.raises(function() S.shapes{n = 2, kinds = {}} end, "stimuli.shapes: kinds")
  T.raises(function() S.shapes{n = 2, seed = 1.5} end, "stimuli.shapes: seed must be an integer")
  T.raises(function() S.shapes{n = 2, colour = 3} end, "stimuli.shapes: unknown option 'colour'")
  T.raises(function() S.shapes(5) end, "stimuli.shapes: expected an options table")
  T.raises(function() S.contrast_pairs{n = 2, size = 7} end, "stimuli.contrast_pairs: size")
  T.raises(function() S.contrast_pairs{n = 2, range = {0.5, 0.1}} end,
           "stimuli.contrast_pairs: range")
  T.raises(function() S.grating{size = 0, sf = 1} end, "stimuli.grating: size")
  T.raises(function() S.grating{size = 32} end, "stimuli.grating: sf must be a positive number")
  T.raises(function() S.grating{size = 32, sf = 0} end, "stimuli.grating: sf")
  T.raises(function() S.grating{size = 32, sf = 1, contrast = 1.5} end, "stimuli.grating: contrast")
  T.raises(function() S.grating{size = 32, sf = 1, theta = 0 / 0} end, "stimuli.grating: theta")
  T.raises(function() S.grating_pairs{size = 32, sf = 1} end, "stimuli.grating_pairs: contrast")
  T.raises(function() S.grating_pairs{size = 32, sf = 1, contrast = 1, orientations = 0} end,
           "stimuli.grating_pairs: orientations")
  -- the C layer checks its own arguments too
  T.raises(function() loupe._stimuli.shapes(2, 4, {"circle"}) end,
           "shapes: size must be in [8, 4096]")
  T.raises(function() loupe._stimuli.contrast(loupe.zeros(2, 3), loupe.zeros(2, 2)) end,
           "contrast: expected uint8 images")
  local bytes = loupe.zeros({2, 3}, {dtype = "uint8"})
  T.raises(function() loupe._stimuli.contrast(bytes, loupe.zeros(3, 2)) end,
           "contrast: expected float32 contrasts [2,k]")
  T.raises(function() loupe._stimuli.grating(16, -1, 0, 0, 1) end, "grating: sf must be positive")
end

return tests
