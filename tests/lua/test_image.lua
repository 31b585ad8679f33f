-- test_image.lua — loupe.image.load / save: every PNG and JPEG storage variant against PIL's
-- decoding (fixtures from tests/fixtures/gen_pil_images.py), the real photos against PIL's
-- pixel sums, PNG round trips, atomic writes, and the errors for missing, foreign, corrupt
-- and truncated files.
local loupe = require "loupe"
local T = require "testlib"

local DIR = "tests/fixtures/images/"
local REF = "tests/fixtures/images_ref.safetensors"
local FILES = {"rgb.png", "rgba.png", "gray.png", "gray_alpha.png", "bilevel.png", "palette.png",
               "palette_trns.png", "gray16.png", "rgb.jpg", "gray.jpg", "progressive.jpg",
               "cmyk.jpg"}

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function write(path, bytes)
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
end

-- A fresh empty folder, removed with its contents by the returned function.
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

local tests = {}

-- Decoding matches PIL (JPEG: same libjpeg, same IDCT and upsampling, so exact too).
function tests.every_variant_matches_pil()
  local ref = loupe.load(REF)
  for _, f in ipairs(FILES) do
    local key = f:gsub("%.", "_")
    T.close(loupe.image.load(DIR .. f), ref[key .. ".rgb"], 1e-6, f .. " rgb")
    T.close(loupe.image.load(DIR .. f, {channels = 1}), ref[key .. ".gray"], 1e-6, f .. " gray")
  end
end

-- PIL's integer channel sums and a few pixels of the photos (see gen_pil_images.py's
-- header for how they were read): exact.
function tests.photos_match_pil()
  local want = {
    dog = {shape = {3, 576, 768}, sum = {59475068, 60014148, 50465203},
           px = {{1, 1, {57, 58, 50}}, {101, 201, {173, 172, 177}}, {576, 768, {50, 39, 35}}}},
    eagle = {shape = {3, 512, 773}, sum = {33731186, 32450350, 28001386},
             px = {{1, 1, {74, 80, 106}}, {101, 201, {80, 87, 54}}, {512, 773, {38, 24, 23}}}},
  }
  for name, w in pairs(want) do
    local x = loupe.image.load("datasets/photos/" .. name .. ".jpg")
    T.eq(table.concat(x:shape(), ","), table.concat(w.shape, ","), name)
    local u8 = (x * 255 + 0.5):long() -- exact: the values are k/255
    for c = 1, 3 do
      local total = 0 -- row sums are exact in float32; the total is added up in Lua integers
      for _, r in ipairs(u8[c]:float():sum(2):totable()) do total = total + math.tointeger(r) end
      T.eq(total, w.sum[c], name .. " channel sum " .. c)
    end
    for _, p in ipairs(w.px) do
      for c = 1, 3 do T.eq(u8[{c, p[1], p[2]}]:item(), p[3][c], name .. " pixel") end
    end
  end
end

function tests.png_round_trip()
  local dir, done = tmpdir()
  local x = (loupe.randint(0, 256, {3, 6, 5}):float() / 255)
  loupe.image.save(x, dir .. "/rgb.png")
  T.truthy(loupe.image.load(dir .. "/rgb.png"):equal(x), "rgb round trip")
  -- [H, W] and [1, H, W] are gray, [2, ...] gray + alpha, [4, ...] RGBA (alpha dropped on load)
  local g = x[1]
  loupe.image.save(g, dir .. "/g.png")
  T.truthy(loupe.image.load(dir .. "/g.png", {channels = 1}):equal(g:unsqueeze(1)), "gray")
  loupe.image.save(x[{{1, 2}}], dir .. "/ga.png")
  T.truthy(loupe.image.load(dir .. "/ga.png", {channels = 1}):equal(x[{{1}}]), "gray+alpha")
  loupe.image.save(loupe.cat({x, x[{{1}}]}, 1), dir .. "/rgba.png")
  T.truthy(loupe.image.load(dir .. "/rgba.png"):equal(x), "rgba")
  -- uint8 is stored as is; non-contiguous views are fine
  loupe.image.save((x * 255 + 0.5):byte():transpose(2, 3), dir .. "/u8.png")
  T.truthy(loupe.image.load(dir .. "/u8.png"):equal(x:transpose(2, 3)), "uint8, transposed")
  done()
end

-- round-half-up of v*255 after clamping to [0, 1], NaN stored as 0 (torchvision's save_image)
function tests.save_quantises_and_clamps()
  local dir, done = tmpdir()
  local v = loupe.tensor{{-1, 0, 0.5 / 255, 0.49 / 255, 1, 7, 0 / 0}}
  loupe.image.save(v, dir .. "/q.png")
  local back = (loupe.image.load(dir .. "/q.png", {channels = 1}) * 255 + 0.5):long()
  T.eq(table.concat(back:view(-1):totable(), ","), "0,0,1,0,255,255,0")
  done()
end

function tests.save_is_atomic_and_replaces()
  local dir, done = tmpdir()
  local path = dir .. "/a.png"
  loupe.image.save(loupe.zeros(2, 2), path)
  loupe.image.save(loupe.ones(3, 4, 4), path)
  T.eq(table.concat(listdir(dir), ","), "a.png", "no temporary left")
  T.eq(loupe.image.load(path):size(2), 4)
  -- a failing save leaves the old file and no temporary
  T.raises(function() loupe.image.save(loupe.zeros(5, 2, 2), path) end, "C = 1, 2, 3 or 4")
  T.eq(table.concat(listdir(dir), ","), "a.png")
  T.raises(function() loupe.image.save(loupe.zeros(2, 2), dir .. "/missing/x.png") end,
           "missing/x.png")
  done()
end

function tests.errors_name_the_file()
  local dir, done = tmpdir()
  T.raises(function() loupe.image.load(dir .. "/none.png") end,
           "cannot open '" .. dir .. "/none.png': No such file")
  write(dir .. "/text.jpg", "hello")
  T.raises(function() loupe.image.load(dir .. "/text.jpg") end, "text.jpg' is not a PNG or JPEG")
  write(dir .. "/empty.png", "")
  T.raises(function() loupe.image.load(dir .. "/empty.png") end, "is not a PNG or JPEG")
  local jpg, png = read("datasets/photos/dog.jpg"), read(DIR .. "rgb.png")
  write(dir .. "/cut.jpg", jpg:sub(1, #jpg // 2))
  T.raises(function() loupe.image.load(dir .. "/cut.jpg") end, "JPEG file '" .. dir .. "/cut.jpg' is truncated")
  write(dir .. "/cut.png", png:sub(1, #png - 20))
  T.raises(function() loupe.image.load(dir .. "/cut.png") end, "PNG file '" .. dir .. "/cut.png' is truncated")
  -- a flipped byte inside the image data: libpng's CRC check
  write(dir .. "/crc.png", png:sub(1, 60) .. string.char(png:byte(61) ~ 0xff) .. png:sub(62))
  T.raises(function() loupe.image.load(dir .. "/crc.png") end, "corrupt PNG file '" .. dir .. "/crc.png'")
  -- a JPEG whose first segment has an impossible length
  write(dir .. "/bad.jpg", "\xff\xd8\xff\xdb\x00\x01" .. string.rep("\x00", 64))
  T.raises(function() loupe.image.load(dir .. "/bad.jpg") end, "corrupt JPEG file '" .. dir .. "/bad.jpg'")
  T.raises(function() loupe.image.load(DIR .. "rgb.png", {channels = 2}) end, "channels must be 1 or 3")
  T.raises(function() loupe.image.save(loupe.zeros(3, 2, 2):long(), dir .. "/l.png") end, "float32 or uint8")
  T.raises(function() loupe.image.save(loupe.zeros(2, 0, 2), dir .. "/e.png") end, "cannot store")
  done()
end

return tests
