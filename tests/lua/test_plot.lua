-- test_plot.lua — images with colour maps and JPEG (loupe.image.save / colormap) and figures
-- (loupe.plot), checked by properties rather than bytes: pixel sizes, colours at known
-- points, panels that are not blank, text that renders with a proportional font, SVG that
-- is well-formed XML, PDF headers, atomic writes, and errors that name the function.
local loupe = require "loupe"
local T = require "testlib"
local plot = loupe.plot
local ticks = require "loupe.plot.ticks"
local style = require "loupe.plot.style"

local function tmpdir()
  local base = os.tmpname()
  os.remove(base)
  assert(os.execute("mkdir -p '" .. base .. "'"))
  return base, function() os.execute("rm -rf '" .. base .. "'") end
end

local function listdir(dir)
  local names = {}
  local p = io.popen("ls -A '" .. dir .. "'")
  for n in p:lines() do names[#names + 1] = n end
  p:close()
  return names
end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function rgb255(r, g, b) return loupe.tensor{r / 255, g / 255, b / 255} end

-- pixel (x, y) (1-based) of a [3,H,W] image as a [3] tensor
local function pixel(img, x, y) return img[{{}, y, x}] end

-- A minimal XML well-formedness check: balanced, properly nested tags, quoted attributes,
-- valid entity references; comments, CDATA and processing instructions skipped.
local function check_xml(s)
  local stack, i, n, root = {}, 1, #s, 0
  local function fail(msg) error(("XML: %s at byte %d"):format(msg, i), 2) end
  local function entities(chunk)
    for ent in chunk:gmatch("&([^;]*);?") do
      if not (ent:match("^#%d+$") or ent:match("^#x%x+$") or ent:match("^%a%w*$")) then
        fail("bad entity &" .. ent)
      end
    end
  end
  local function text(a, b)
    local chunk = s:sub(a, b)
    entities(chunk)
    if #stack == 0 and chunk:match("%S") then fail("text outside the root element") end
  end
  while i <= n do
    local lt = s:find("<", i, true)
    if not lt then text(i, n) break end
    text(i, lt - 1)
    i = lt
    if s:sub(i, i + 3) == "<!--" then
      i = (s:find("-->", i + 4, true) or fail("unclosed comment")) + 3
    elseif s:sub(i, i + 8) == "<![CDATA[" then
      i = (s:find("]]>", i + 9, true) or fail("unclosed CDATA")) + 3
    elseif s:sub(i, i + 1) == "<?" then
      i = (s:find("?>", i + 2, true) or fail("unclosed processing instruction")) + 2
    elseif s:sub(i, i + 1) == "<!" then
      i = (s:find(">", i + 2, true) or fail("unclosed declaration")) + 1
    elseif s:sub(i, i + 1) == "</" then
      local name, e = s:match("^</([%w_:%.%-]+)%s*>()", i)
      if not name then fail("bad end tag") end
      if stack[#stack] ~= name then
        fail(("</%s> closes <%s>"):format(name, tostring(stack[#stack])))
      end
      stack[#stack] = nil
      i = e
    else
      local name, e = s:match("^<([%a_:][%w_:%.%-]*)()", i)
      if not name then fail("bad start tag") end
      i = e
      local seen = {}
      while true do
        local ws_end = s:match("^%s*()", i)
        i = ws_end
        if s:sub(i, i + 1) == "/>" then i = i + 2 if #stack == 0 then root = root + 1 end break end
        if s:sub(i, i) == ">" then
          i = i + 1
          if #stack == 0 then root = root + 1 end
          stack[#stack + 1] = name
          break
        end
        local attr, q, e2 = s:match("^([%a_:][%w_:%.%-]*)%s*=%s*([\"'])()", i)
        if not attr then fail("bad attribute in <" .. name .. ">") end
        if seen[attr] then fail("repeated attribute " .. attr) end
        seen[attr] = true
        local close = s:find(q, e2, true) or fail("unclosed attribute value")
        if s:sub(e2, close - 1):find("<", 1, true) then fail("'<' in an attribute value") end
        entities(s:sub(e2, close - 1))
        i = close + 1
      end
    end
  end
  if #stack > 0 then error("XML: unclosed <" .. stack[#stack] .. ">") end
  if root ~= 1 then error("XML: expected one root element, got " .. root) end
end

local tests = {}

-- ---- colour maps ----

function tests.colormap_known_points()
  local c = loupe.image.colormap("viridis", loupe.tensor{0, 1})
  T.close(c:select(2, 1), {0.267004, 0.004874, 0.329415}, 1e-6, "viridis(0) as matplotlib")
  T.close(c:select(2, 2), {0.993248, 0.906157, 0.143936}, 1e-6, "viridis(1) as matplotlib")
  -- RdBu: low red, middle near-white #f7f7f7, high blue (plotly's and matplotlib's RdBu)
  c = loupe.image.colormap("RdBu", loupe.tensor{0, 0.5, 1})
  T.close(c:select(2, 1), rgb255(103, 0, 31), 1e-6, "RdBu low")
  T.close(c:select(2, 2), rgb255(247, 247, 247), 1e-6, "RdBu middle")
  T.close(c:select(2, 3), rgb255(5, 48, 97), 1e-6, "RdBu high")
  -- between anchors: linear; reversed maps; gray
  c = loupe.image.colormap("RdBu", loupe.tensor{0.05})
  T.close(c:view(3), (rgb255(103, 0, 31) + rgb255(178, 24, 43)) / 2, 1e-6, "RdBu interpolates")
  T.close(loupe.image.colormap("RdBu_r", loupe.tensor{1}):view(3), rgb255(103, 0, 31), 1e-6, "_r")
  T.close(loupe.image.colormap("gray", loupe.tensor{0.25}):view(3), {0.25, 0.25, 0.25}, 1e-6)
  -- categorical: class numbers from 1, cycling
  c = loupe.image.colormap("tab10", loupe.tensor{1, 2, 11})
  T.close(c:select(2, 1), rgb255(31, 119, 180), 1e-6, "tab10 class 1")
  T.close(c:select(2, 2), rgb255(255, 127, 14), 1e-6, "tab10 class 2")
  T.close(c:select(2, 3), c:select(2, 1), 0, "tab10 cycles")
  -- the result has the values' shape after the 3 channels
  T.eq(table.concat(loupe.image.colormap("viridis", loupe.rand(4, 5)):shape(), ","), "3,4,5")
end

function tests.colormap_scaling()
  -- zmid: symmetric limits about the midpoint, which is white-ish
  local c, lo, hi = loupe.image.colormap("RdBu", loupe.tensor{-1, 0, 3}, {zmid = 0})
  T.eq(lo, -3) T.eq(hi, 3)
  T.close(c:select(2, 2), rgb255(247, 247, 247), 1e-6, "zmid is the middle colour")
  T.close(c:select(2, 3), rgb255(5, 48, 97), 1e-6, "max |v| is the end")
  c, lo, hi = loupe.image.colormap("RdBu", loupe.tensor{1, 2, 5}, {zmid = 2})
  T.eq(lo, -1) T.eq(hi, 5)
  -- range, auto range, NaN
  c, lo, hi = loupe.image.colormap("gray", loupe.tensor{2, 4, 6}, {range = "auto"})
  T.eq(lo, 2) T.eq(hi, 6)
  T.close(c:select(1, 1), {0, 0.5, 1}, 1e-6, "auto range")
  c = loupe.image.colormap("gray", loupe.tensor{-1, 0 / 0, 10}, {range = {0, 4}})
  T.close(c:select(1, 1), {0, 0.5, 1}, 1e-6, "clamped; NaN is the bad colour (mid gray)")
  -- constant data: diverging maps show the middle, sequential ones the low end (matplotlib)
  T.close(loupe.image.colormap("RdBu", loupe.zeros(2), {zmid = 0}):select(2, 1),
          rgb255(247, 247, 247), 1e-6)
  T.close(loupe.image.colormap("viridis", loupe.full({2}, 7), {range = "auto"}):select(2, 1),
          {0.267004, 0.004874, 0.329415}, 1e-6)
end

function tests.colormap_errors()
  T.raises(function() loupe.image.colormap("jet", loupe.zeros(2)) end,
           "image.colormap: unknown colormap 'jet'")
  T.raises(function() loupe.image.colormap("RdBu", loupe.zeros(2), {range = {1}}) end,
           "image.colormap: range must be")
  T.raises(function() loupe.image.colormap("RdBu", loupe.zeros(2), {mid = 1}) end,
           "unknown option 'mid'")
end

-- ---- image files ----

function tests.image_save_with_cmap_and_range()
  local dir, done = tmpdir()
  local t = loupe.randn(6, 7)
  loupe.image.save(t, dir .. "/rdbu.png", {cmap = "RdBu"})
  local want = loupe.image.colormap("RdBu", t, {zmid = 0})
  T.close(loupe.image.load(dir .. "/rdbu.png"), want, 0.51 / 255 + 1e-6, "RdBu, centred at 0")
  -- [1,H,W] works too; viridis defaults to the data's min..max
  loupe.image.save(t:unsqueeze(1), dir .. "/v.png", {cmap = "viridis"})
  T.close(loupe.image.load(dir .. "/v.png"), loupe.image.colormap("viridis", t, {range = "auto"}),
          0.51 / 255 + 1e-6, "viridis, auto range")
  -- gray with an explicit range, and a zmid
  loupe.image.save(t, dir .. "/g.png", {range = {-2, 2}})
  T.close(loupe.image.load(dir .. "/g.png", {channels = 1})[1], ((t + 2) / 4):clamp(0, 1),
          0.51 / 255 + 1e-6, "range")
  loupe.image.save(loupe.zeros(2, 2), dir .. "/z.png", {zmid = 0})
  T.close(loupe.image.load(dir .. "/z.png", {channels = 1}), loupe.full({1, 2, 2}, 128 / 255), 1e-6)
  -- an int64 class map through a categorical map (class numbers from 1)
  local lab = loupe.tensor{{1, 2}, {3, 11}}:long()
  loupe.image.save(lab, dir .. "/lab.png", {cmap = "tab10"})
  T.close(loupe.image.load(dir .. "/lab.png"), loupe.image.colormap("tab10", lab),
          0.51 / 255 + 1e-6)
  -- RGB with range "auto"
  local rgb = loupe.rand(3, 4, 4) * 10 - 5
  loupe.image.save(rgb, dir .. "/rgb.png", {range = "auto"})
  local lo, hi = rgb:min():item(), rgb:max():item()
  T.close(loupe.image.load(dir .. "/rgb.png"), (rgb - lo) / (hi - lo), 0.51 / 255 + 1e-6)
  done()
end

function tests.jpeg_round_trip()
  local dir, done = tmpdir()
  -- a smooth colour image survives JPEG at quality 95 within a few levels
  local y = loupe.linspace(0, 1, 48):view(1, 48, 1):expand(1, 48, 64)
  local x = loupe.linspace(0, 1, 64):view(1, 1, 64):expand(1, 48, 64)
  local img = loupe.cat({x, y, (x + y) / 2}, 1):contiguous()
  loupe.image.save(img, dir .. "/a.jpg", {quality = 95})
  T.eq(read(dir .. "/a.jpg"):sub(1, 3), "\xff\xd8\xff", "a JPEG file")
  local back = loupe.image.load(dir .. "/a.jpg")
  T.eq(table.concat(back:shape(), ","), "3,48,64")
  T.truthy((back - img):abs():mean():item() < 0.01, "mean error below 1%")
  -- gray, .jpeg extension in capitals; lower quality makes a smaller file
  loupe.image.save(img[1], dir .. "/g.JPEG", {quality = 95})
  local g = loupe.image.load(dir .. "/g.JPEG", {channels = 1})[1]
  T.truthy((g - img[1]):abs():mean():item() < 0.01)
  local noisy = loupe.rand(3, 64, 64)
  loupe.image.save(noisy, dir .. "/hi.jpg", {quality = 95})
  loupe.image.save(noisy, dir .. "/lo.jpg", {quality = 20})
  T.truthy(#read(dir .. "/lo.jpg") < #read(dir .. "/hi.jpg"), "quality changes the size")
  -- colour-mapped JPEG
  loupe.image.save(loupe.randn(16, 16), dir .. "/c.jpg", {cmap = "RdBu"})
  T.eq(loupe.image.load(dir .. "/c.jpg"):size(1), 3)
  done()
end

function tests.png_round_trip_still_exact()
  local dir, done = tmpdir()
  local x = loupe.randint(0, 256, {3, 5, 4}):float() / 255
  loupe.image.save(x, dir .. "/x.PNG")
  T.truthy(loupe.image.load(dir .. "/x.PNG"):equal(x), "PNG is lossless")
  done()
end

function tests.image_save_errors()
  local dir, done = tmpdir()
  T.raises(function() loupe.image.save(loupe.zeros(2, 2), dir .. "/x.bmp") end,
           "image.save: cannot tell the format of '" .. dir .. "/x.bmp'")
  T.raises(function() loupe.image.save(loupe.zeros(4, 2, 2), dir .. "/x.jpg") end,
           "image.save: JPEG cannot store an alpha channel")
  T.raises(function() loupe.image.save(loupe.zeros(3, 2, 2), dir .. "/x.png", {cmap = "RdBu"}) end,
           "image.save: cmap 'RdBu' needs one channel")
  T.raises(function() loupe.image.save(loupe.zeros(2, 2), dir .. "/x.png", {cmap = "nope"}) end,
           "image.save: unknown colormap 'nope'")
  T.raises(function() loupe.image.save(loupe.zeros(2, 2), dir .. "/x.jpg", {quality = 0}) end,
           "image.save: quality must be in 1..100")
  T.raises(function()
             loupe.image.save(loupe.zeros(2, 2), dir .. "/x.png", {range = {0, 0 / 0}})
           end,
           "image.save: range must be two finite numbers")
  T.raises(function() loupe.image.save(loupe.zeros(2, 2), dir .. "/x.png", {colour = 1}) end,
           "image.save: unknown option 'colour'")
  T.raises(function() loupe.image.save(loupe.zeros(2, 2), dir .. "/none/x.jpg") end, "none/x.jpg")
  T.eq(#listdir(dir), 0, "nothing written")
  done()
end

-- ---- ticks ----

function tests.ticks_are_nice()
  local v, step = ticks.nice(0, 1, 5)
  T.eq(step, 0.2)
  T.eq(#v, 6)
  T.close(v[6], 1, 1e-12)
  v, step = ticks.nice(-3.7, 12.2, 6)
  T.eq(step, 5)
  T.close(loupe.tensor(v), {0, 5, 10}, 0)
  v, step = ticks.nice(0.00123, 0.00187, 4)
  T.close(step, 2e-4, 1e-9)
  for _, s in ipairs{0.2, 5, 2e-4} do
    local m = s / 10 ^ math.floor(math.log(s, 10) + 1e-9)
    T.truthy(math.abs(m - 1) < 1e-9 or math.abs(m - 2) < 1e-9 or math.abs(m - 5) < 1e-9, "1-2-5")
  end
  T.eq(ticks.format(-0.5, 0.5), "\u{2212}0.5")
  T.eq(ticks.format(2, 1), "2")
  T.eq(ticks.format(2e6, 1e6), "2e+06")
  -- spreading: no two labels closer than the gap, order kept, bounds respected
  local out = ticks.spread({10, 11, 12, 50}, 12, -100, 100)
  for i = 2, 3 do T.truthy(out[i] - out[i - 1] >= 12 - 1e-9, "spread apart") end
  T.close(out[4], 50, 1e-12, "far labels stay")
  T.close((out[1] + out[2] + out[3]) / 3, 11, 1e-9, "a cluster stays centred")
  out = ticks.spread({0, 1}, 10, 0, 100)
  T.truthy(out[1] >= 0 and out[2] - out[1] >= 10 - 1e-9, "kept within bounds")
end

-- ---- figures ----

function tests.figure_size_and_formats()
  local dir, done = tmpdir()
  local fig = plot.figure{width = 320, height = 200, title = "sizes"}
  fig:line({1, 2, 3}, {1, 4, 9}, {label = "squares"})
  T.eq(table.concat(fig:render():shape(), ","), "3,200,320")
  T.eq(table.concat(fig:render{scale = 2}:shape(), ","), "3,400,640")
  fig:save(dir .. "/f.png")
  T.eq(table.concat(loupe.image.load(dir .. "/f.png"):shape(), ","), "3,200,320")
  fig:save(dir .. "/f.png", {scale = 2})
  T.eq(loupe.image.load(dir .. "/f.png"):size(3), 640)
  fig:save(dir .. "/f.pdf")
  T.eq(read(dir .. "/f.pdf"):sub(1, 5), "%PDF-")
  fig:save(dir .. "/f.svg")
  local svg = read(dir .. "/f.svg")
  check_xml(svg)
  T.truthy(svg:find("<svg", 1, true) and svg:find('width="320', 1, true), "an SVG of 320 wide")
  T.eq(table.concat(listdir(dir), ","), "f.pdf,f.png,f.svg", "no temporaries left")
  done()
end

-- the mean and variance of the pixels in the rectangle x0..x1, y0..y1 (1-based, inclusive)
local function region_var(img, x0, x1, y0, y1)
  return img[{{}, {y0, y1}, {x0, x1}}]:var():item()
end

function tests.panels_are_not_blank()
  local fig = plot.figure{width = 400, height = 400, rows = 2, cols = 2, spacing = 0, margin = 0}
  fig:panel(1, 1):line(loupe.linspace(0, 6, 50), loupe.linspace(0, 6, 50):sin())
  fig:panel(1, 2):imshow(loupe.randn(8, 8), {cmap = "RdBu"})
  fig:panel(2, 1):heatmap_table(loupe.tensor{{5, 1}, {2, 7}})
  local img = fig:render()
  T.truthy(region_var(img, 1, 200, 1, 200) > 1e-3, "line panel drawn")
  T.truthy(region_var(img, 201, 400, 1, 200) > 1e-3, "imshow panel drawn")
  T.truthy(region_var(img, 1, 200, 201, 400) > 1e-3, "table panel drawn")
  T.eq(region_var(img, 201, 400, 201, 400), 0, "the unused cell stays white")
  T.close(pixel(img, 300, 300), {1, 1, 1}, 0, "white background")
end

function tests.imshow_colours_known_pixels()
  -- a constant heatmap fills the middle of its cell with one colour
  local fig = plot.figure{width = 200, height = 200}
  fig:imshow(loupe.full({10, 10}, 3), {cmap = "RdBu"})
  T.close(pixel(fig:render(), 100, 100), rgb255(5, 48, 97), 1e-6, "RdBu(max) is dark blue")
  fig = plot.figure{width = 200, height = 200}
  fig:imshow(loupe.zeros(10, 10), {cmap = "RdBu"})
  T.close(pixel(fig:render(), 100, 100), rgb255(247, 247, 247), 1e-6, "zmid 0 is the middle")
  fig = plot.figure{width = 200, height = 200}
  fig:imshow(loupe.tensor{{-1, 1}}, {cmap = "RdBu", aspect = "auto"})
  local img = fig:render()
  T.close(pixel(img, 50, 100), rgb255(103, 0, 31), 1e-6, "negative is red")
  T.close(pixel(img, 150, 100), rgb255(5, 48, 97), 1e-6, "positive is blue")
  -- an RGB image, as uint8 bytes
  fig = plot.figure{width = 200, height = 200}
  fig:imshow(loupe.tensor{{{255}}, {{128}}, {{0}}}:byte())
  T.close(pixel(fig:render(), 100, 100), rgb255(255, 128, 0), 1e-6, "uint8 RGB")
  -- nearest-neighbour scaling: a 2x2 checkerboard keeps hard edges
  fig = plot.figure{width = 200, height = 200, margin = 0}
  fig:imshow(loupe.tensor{{0, 1}, {1, 0}}, {cmap = "gray", frame = false})
  img = fig:render()
  T.close(pixel(img, 99, 50), {0, 0, 0}, 1e-6)
  T.close(pixel(img, 102, 50), {1, 1, 1}, 1e-6)
end

function tests.text_renders_with_a_real_font()
  local w_m = style.text_width("MMMMMMMMMM", 14)
  local w_i = style.text_width("iiiiiiiiii", 14)
  T.truthy(w_m > 2 * w_i, "a proportional face")
  local title = "Hello figure"
  local fig = plot.figure{width = 300, height = 60, title = title}
  local dark = fig:render():mean(1):lt(0.6):float()
  local cols = dark:sum(1):gt(0):float():totable()
  local first, last
  for i, v in ipairs(cols) do
    if v > 0 then first = first or i; last = i end
  end
  T.truthy(first, "the title drew dark pixels")
  local want = style.text_width(title, style.font.figure_title)
  T.truthy(math.abs((last - first + 1) - want) < 4, ("ink width %d vs measured %.1f"):format(
    last - first + 1, want))
  T.truthy(math.abs((first + last) / 2 - 150) < 3, "centred")
end

function tests.line_axes_and_legend()
  local fig = plot.figure{width = 400, height = 300}
  local x = loupe.linspace(-2, 2, 100)
  fig:line(x, x * x, {label = "x^2", color = "red"})
  fig:line(x, -x, {label = "-x", dash = "--"})
  fig:markers({0}, {0}, {size = 10, shape = "s"})
  fig:set{title = "t", xlabel = "x", ylabel = "y", grid = true, zero_line = true}
  local img = fig:render()
  -- the red of the line appears somewhere
  local r, g, b = img[1], img[2], img[3]
  local red = r:gt(0.7):float() * g:lt(0.3):float() * b:lt(0.3):float()
  T.truthy(red:sum():item() > 20, "the red series is drawn")
  -- explicit ticks and limits are honoured
  local p = fig:panel(1, 1)
  p:set{ylim = {-5, 5}, yticks = {-5, 0, 5}}
  T.eq(p.opts.ylim[1], -5)
  T.truthy(fig:render():var():item() > 0)
end

function tests.scatter_many_points_quickly()
  local n = 50000
  local xy = loupe.randn(n, 2)
  local labels = loupe.randint(1, 11, {n})
  local t0 = loupe.clock()
  local fig = plot.embedding(xy, labels, {classes = {"a", "b", "c", "d", "e", "f", "g", "h", "i",
                                                     "j"},
                                          thumbnails = loupe.rand(n, 1, 8, 8), title = "50k"})
  local img = fig:render()
  local dt = loupe.clock() - t0
  T.truthy(img:var():item() > 1e-3)
  if os.getenv("SANITIZE") ~= "1" then T.truthy(dt < 5, ("50k points took %.2f s"):format(dt)) end
end

function tests.bar_and_table()
  local fig = plot.figure{width = 500, height = 250, cols = 2}
  fig:panel(1, 1):bar({3, -1, 2}, {labels = {"a", "b", "c"}, value_labels = true})
  fig:panel(1, 2):heatmap_table(loupe.tensor{{50, 2}, {3, 45}}, {
    row_labels = {"cat", "dog"}, col_labels = {"cat", "dog"}, xlabel = "predicted",
    ylabel = "true"})
  T.eq(fig:panel(1, 2).table.fmt, "%d", "integer counts print as integers")
  local img = fig:render()
  T.truthy(region_var(img, 1, 250, 1, 250) > 1e-3)
  T.truthy(region_var(img, 251, 500, 1, 250) > 1e-3)
end

function tests.eigenspectrum_follows_the_seed()
  local H, D = 30, 36
  local vals = loupe.linspace(-2, 3, H)
  local vecs = loupe.randn(H, D)
  local fig = plot.eigenspectrum(vals, vecs, {k = 3, n_vals = 5, title = "class 0"})
  T.eq(fig.rows, 2) T.eq(fig.cols, 4)
  -- left column: n_vals + 2 values, top descending and bottom ascending, k marked as ticks
  local top, bottom = fig:panel(1, 1), fig:panel(2, 1)
  T.eq(top.series[1].y:numel(), 7)
  T.close(top.series[1].y, vals:index_select(1, loupe.arange(H, H - 7, -1)), 0, "descending")
  T.close(bottom.series[1].y, vals:narrow(1, 1, 7), 0, "ascending")
  T.close(loupe.tensor(top.opts.yticks), vals:index_select(1, loupe.arange(H, H - 3, -1)), 0)
  T.close(loupe.tensor(bottom.opts.yticks), vals:narrow(1, 1, 3), 0)
  -- heatmaps: top row vectors -1, -2, -3 and bottom row 1, 2, 3, each symmetric about 0
  for j = 1, 3 do
    local img = fig:panel(1, j + 1).image
    local m = vecs[H - j + 1]:abs():max():item()
    T.close(img.hi, m, 1e-6) T.close(img.lo, -m, 1e-6)
    T.close(img.rgb, loupe.image.colormap("RdBu", vecs[H - j + 1]:view(6, 6), {zmid = 0}), 0)
    T.close(fig:panel(2, j + 1).image.rgb,
            loupe.image.colormap("RdBu", vecs[j]:view(6, 6), {zmid = 0}), 0)
  end
  T.truthy(fig:render():var():item() > 1e-3)
  -- colour eigenvectors
  plot.eigenspectrum(vals, loupe.randn(H, 3 * 4 * 4), {shape = {3, 4, 4}}):render()
end

function tests.facets_and_curve()
  local fig = plot.facets(loupe.randn(5, 4, 4) * 7, {labels = {"a", "b", "c", "d", "e"}, cols = 3})
  T.eq(fig.rows, 2) T.eq(fig.cols, 3)
  for i = 1, 5 do
    local img = fig:panel((i - 1) // 3 + 1, (i - 1) % 3 + 1).image
    T.eq(img.lo, -1) T.eq(img.hi, 1)
  end
  T.truthy(fig:render():var():item() > 1e-3)
  local ep = loupe.arange(1, 21):float()
  fig = plot.curve(ep, {(-ep / 5):exp(), (-ep / 7):exp()},
                   {labels = {"train", "val"}, title = "loss"})
  T.eq(#fig:panel(1, 1).series, 2)
  T.truthy(fig:render():var():item() > 1e-3)
  plot.curve(loupe.rand(3, 10)):render()
end

function tests.save_is_atomic_and_errors_name_the_function()
  local dir, done = tmpdir()
  local fig = plot.figure{width = 100, height = 80}
  fig:line({1, 2}, {3, 4})
  fig:save(dir .. "/a.png")
  T.raises(function() fig:save(dir .. "/missing/a.png") end, "plot.save: cannot create")
  T.raises(function() fig:save(dir .. "/a.gif") end, "plot.save: cannot tell the format")
  T.eq(table.concat(listdir(dir), ","), "a.png")
  done()
  T.raises(function() plot.figure{widht = 3} end, "plot.figure: unknown option 'widht'")
  T.raises(function() plot.figure{rows = 0} end, "plot.figure: rows must be a positive integer")
  local f2 = plot.figure{rows = 1, cols = 2}
  T.raises(function() f2:panel(2, 1) end, "plot.panel: (2, 1) is outside the 1x2 grid")
  T.raises(function() f2:line({1}, {2}) end, "plot.line: fig:line is for one-panel figures")
  local p = f2:panel(1, 1)
  T.raises(function() p:imshow(loupe.zeros(2, 3, 4, 5)) end,
           "plot.imshow: expected [H,W], [1,H,W] or [3,H,W], got [2,3,4,5]")
  T.raises(function() p:imshow(loupe.zeros(3, 3), {cmap = "jet"}) end,
           "plot.imshow: unknown colormap 'jet'")
  p:imshow(loupe.zeros(3, 3))
  T.raises(function() p:line({1}, {1}) end, "plot.line: this panel already shows an image")
  local q = f2:panel(1, 2)
  T.raises(function() q:line({1, 2}, {1}) end, "plot.line: x has 2 values but y has 1")
  T.raises(function() q:line({1}, {1}, {color = "nocolour"}) end, "plot.line: unknown colour")
  T.raises(function() q:scatter(loupe.zeros(5, 3)) end, "plot.scatter: xy must be a [N,2] tensor")
  T.raises(function() q:scatter(loupe.zeros(5, 2), loupe.tensor{1, 2}) end,
           "plot.scatter: 2 labels for 5 points")
  T.raises(function() q:heatmap_table(loupe.zeros(4)) end, "plot.heatmap_table: expected a [R,C]")
  T.raises(function() q:set{xlim = {2, 1}} end, "plot.set: xlim must be {lo, hi}")
  T.raises(function() plot.eigenspectrum(loupe.zeros(4), loupe.zeros(3, 4)) end,
           "plot.eigenspectrum: vecs must be [4,D]")
  T.raises(function() plot.eigenspectrum(loupe.tensor{2, 1}, loupe.zeros(2, 4)) end,
           "plot.eigenspectrum: vals must be in ascending order")
  T.raises(function() plot.facets(loupe.zeros(2, 5)) end, "plot.facets: image 1 must be")
  T.raises(function() plot.embedding(loupe.zeros(3, 2), loupe.tensor{0, 1, 1}) end,
           "plot.embedding: labels are class numbers counting from 1")
  T.raises(function() plot.curve(loupe.zeros(2, 2, 2)) end, "plot.curve: y must be [N] or [S,N]")
end

function tests.canvas_primitives_reject_bad_input()
  local P = loupe._plot
  local c = P.canvas("png", 50, 50)
  T.raises(function() c:text("\xff\xfe", 1, 1, 10) end, "valid UTF-8")
  T.raises(function() c:line(0, 0, 0 / 0, 1) end, "finite number")
  T.raises(function() c:markers(loupe.zeros(3), loupe.zeros(2), {1, 0, 1, 0}, "o", 3) end,
           "x has 3 values but y has 2")
  T.raises(function() c:image(loupe.zeros(2, 2, 2), 0, 0, 10, 10) end, "an image is [H,W]")
  -- far-away and non-finite data points are skipped, not drawn wrongly
  c:polyline(loupe.tensor{0, 1e30, 0 / 0, 2}, loupe.tensor{0, 1, 2, 3}, {10, 0, 10, 0})
  c:markers(loupe.tensor{1e30, -1e30, 0 / 0}, loupe.tensor{0, 0, 0}, {1, 0, 1, 0}, "o", 3)
  T.truthy(c:pixels():min():item() >= 0)
  c:close()
  T.raises(function() c:line(0, 0, 1, 1) end, "the canvas was closed")
  T.raises(function() P.canvas("png", 0, 10) end, "canvas size")
  T.raises(function() P.canvas("png", 10, 10, 20) end, "scale must be in 1..8")
  local dir, done = tmpdir()
  local s = P.canvas("svg", 10, 10)
  s:save(dir .. "/a.svg")
  T.raises(function() s:save(dir .. "/b.svg") end, "already saved")
  done()
end

return tests
