-- make_corpus.lua — writes the fuzzers' seed corpora, tests/fuzz/corpus/<target>/: small valid
-- files of every kind each parser reads, plus a few edge cases (empty and zero-size arrays,
-- truncation, wrong counts). Run from the repository root: ./loupe tests/fuzz/make_corpus.lua
-- (it replaces the corpus folders; the output is deterministic, so a rerun changes nothing).
--
-- Dataset files come from the writers of the data tests (tests/lua/data_fixtures.lua);
-- safetensors and JPEG files from loupe.save and loupe.image.save; PNG files from a writer
-- below (libpng checks chunk CRCs, so the fuzzer can hardly reach a colour type or bit depth
-- that no seed has: every kind is here); the tensor-table programs from an encoder of the
-- builder language of fuzz_tensor_table.c.
package.path = "tests/lua/?.lua;" .. package.path
local loupe = require "loupe"
local F = require "data_fixtures"

local ROOT = "tests/fuzz/corpus"
local written = 0

local function corpus(target, files)
  local dir = ROOT .. "/" .. target
  os.execute("rm -rf " .. F.q(dir))
  F.mkdir(dir)
  local names = {}
  for name in pairs(files) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    F.write(dir .. "/" .. name, files[name])
    written = written + 1
  end
  print(("%-18s %d files"):format(target, #names))
end

local function be(fmt, list)
  local parts = {}
  for i, v in ipairs(list) do parts[i] = string.pack(">" .. fmt, v) end
  return table.concat(parts)
end

-- ---- IDX ----

do
  local u8 = F.idx_u8(F.pattern({3, 4, 4}))
  corpus("fuzz_idx", {
    ["images_u8"] = u8,
    ["labels_u8"] = F.idx(0x08, {5}, "\0\1\2\9\3"),
    ["i8"] = F.idx(0x09, {4}, "\x80\xff\0\x7f"),
    ["i16"] = F.idx(0x0B, {2, 3}, be("i2", {-32768, -1, 0, 1, 255, 32767})),
    ["i32"] = F.idx(0x0C, {3}, be("i4", {-2147483648, 0, 2147483647})),
    ["f32"] = F.idx(0x0D, {2, 2}, be("f", {0.5, -1, 1 / 0, 3e38})),
    ["f64"] = F.idx(0x0E, {3}, be("d", {1e300, -2.5, 0 / 0})),
    ["zero_size"] = F.idx(0x08, {0, 28, 28}, ""),
    ["dims5"] = F.idx(0x08, {1, 2, 1, 2, 1}, "\1\2\3\4"),
    ["truncated"] = u8:sub(1, -2),
    ["images_u8.gz"] = F.gzip(u8),
    ["f32.gz"] = F.gzip(F.idx(0x0D, {2}, be("f", {1, 2}))),
    ["truncated.gz"] = F.gzip(u8):sub(1, -5),
  })
end

-- ---- CIFAR ----

do
  local img = F.pattern({2, 3, 32, 32})
  corpus("fuzz_cifar", {
    ["cifar10_1"] = F.cifar({{3}}, img),
    ["cifar10_2"] = F.cifar({{0}, {9}}, img),
    ["cifar100_2"] = F.cifar({{19, 99}, {0, 0}}, img),
    ["bad_label"] = F.cifar({{200}}, img),
    ["short"] = F.cifar({{1}}, img):sub(1, 3000),
  })
end

-- ---- MATLAB level 5 ----

do
  local files = {}
  local mi, mx = F.mi, F.mx
  for _, order in ipairs({"<", ">"}) do
    local W = F.mat_writer(order)
    local tag = order == "<" and "le" or "be"
    local x = F.column_major(F.pattern({2, 3, 2, 2})) -- SVHN's X: uint8 [H, W, C, N]
    local X = W.matrix("X", {class = mx.uint8, dims = {2, 2, 3, 2}, mi = mi.uint8, data = x})
    local y = W.matrix("y", {class = mx.double, dims = {2, 1}, mi = mi.uint8,
                              data = "\1\10"}) -- doubles stored as uint8, as MATLAB does
    files["svhn_" .. tag] = W.header() .. X .. y
    files["svhn_compressed_" .. tag] = W.header() .. W.compressed(X) .. W.compressed(y)
    files["classes_" .. tag] = W.header()
      .. W.matrix("X", {class = mx.single, dims = {1, 3}, mi = mi.single,
                        data = W.values(mi.single, {1.5, -2, 0 / 0})})
      .. W.matrix("y", {class = mx.int16, dims = {1, 2}, mi = mi.int16, small_data = true,
                        data = W.values(mi.int16, {-5, 7})})
      .. W.matrix("z", {class = mx.int64, dims = {1, 1}, mi = mi.int64,
                        data = W.values(mi.int64, {1 << 40})})
  end
  local W = F.mat_writer("<")
  local y = W.matrix("y", {class = mx.double, dims = {1, 1}, mi = mi.double,
                            data = W.values(mi.double, {3})})
  files["skipped"] = W.header()
    .. W.matrix("c", {class = mx.cell, dims = {1, 1}, mi = mi.matrix, data = ""})
    .. W.matrix("s", {class = mx.char, dims = {1, 2}, mi = mi.uint16,
                      data = W.values(mi.uint16, {72, 105})})
    .. W.element(mi.matrix, "") -- an empty array element
    .. W.matrix("X", {class = mx.double, dims = {0, 0}, mi = mi.double, data = ""}) .. y
  files["complex"] = W.header()
    .. W.matrix("X", {class = mx.double, flags = 0x800, dims = {1, 1}, mi = mi.double,
                      data = W.values(mi.double, {1})}) .. y
  files["long_name"] = W.header()
    .. W.matrix(("n"):rep(70), {class = mx.double, dims = {1, 1}, mi = mi.double,
                                data = W.values(mi.double, {1})}) .. y
  files["v73"] = W.header(0x0200)
  files["truncated"] = files["svhn_le"]:sub(1, -9)
  corpus("fuzz_mat", files)
end

-- ---- safetensors ----

local function tmp_read(write)
  local path = os.tmpname()
  write(path)
  local bytes = F.read(path)
  os.remove(path)
  return bytes
end

-- A safetensors file from a header table (key -> {dtype, shape, {begin, end}}) and the data.
local function st(entries, data, meta)
  local keys = {}
  for k in pairs(entries) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  if meta then parts[1] = '"__metadata__":' .. meta end
  for _, k in ipairs(keys) do
    local e = entries[k]
    parts[#parts + 1] = ('"%s":{"dtype":"%s","shape":[%s],"data_offsets":[%d,%d]}'):format(
      k, e[1], table.concat(e[2], ","), e[3][1], e[3][2])
  end
  local header = "{" .. table.concat(parts, ",") .. "}"
  return string.pack("<I8", #header) .. header .. data
end

do
  local files = {}
  files["saved"] = tmp_read(function(p)
    loupe.save(p, {w = loupe.tensor({{1.5, -2, 3}, {4, 5, 6}}),
                   i = loupe.tensor({1, -2, 3}, "int64"), u = loupe.tensor({0, 255}, "uint8"),
                   s = loupe.tensor(7), e = loupe.zeros(0, 3)}, {note = "fuzz seed"})
  end)
  local eight = "\1\2\3\4\5\6\7\8"
  for _, dt in ipairs({"F16", "BF16", "I8", "I16", "U16", "I32", "U32", "BOOL", "U64",
                       "F8_E4M3"}) do
    local size = ({F16 = 2, BF16 = 2, I16 = 2, U16 = 2, I32 = 4, U32 = 4, U64 = 8})[dt] or 1
    files["dtype_" .. dt] = st({t = {dt, {8 // size}, {0, 8}}}, eight)
  end
  files["dtype_F64"] = st({t = {"F64", {2}, {0, 16}}}, string.pack("<dd", 1e300, -0.5))
  files["overlap"] = st({a = {"F32", {2}, {0, 8}}, b = {"U8", {2, 2}, {4, 8}}}, eight)
  files["gap"] = st({a = {"U8", {1}, {6, 7}}}, eight)
  files["bad_offsets"] = st({a = {"F32", {3}, {0, 8}}}, eight)
  files["empty"] = st({}, "")
  files["meta_only"] = st({}, "", '{"a":"b"}')
  corpus("fuzz_safetensors", files)
end

-- ---- images ----

local CRC = {}
for i = 0, 255 do
  local c = i
  for _ = 1, 8 do c = (c & 1 ~= 0) and (0xEDB88320 ~ (c >> 1)) or (c >> 1) end
  CRC[i] = c
end
local function crc32(s)
  local c = 0xFFFFFFFF
  for i = 1, #s do c = CRC[(c ~ s:byte(i)) & 0xFF] ~ (c >> 8) end
  return c ~ 0xFFFFFFFF
end

local function chunk(kind, data)
  return string.pack(">I4", #data) .. kind .. data .. string.pack(">I4", crc32(kind .. data))
end

-- Adam7: the passes' (x0, y0, dx, dy).
local ADAM7 = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4},
               {1, 0, 2, 2}, {0, 1, 1, 2}}

-- A PNG of w x h pixels; pixel(x, y) returns the sample values (ctype: 0 gray, 2 RGB,
-- 3 palette, 4 gray + alpha, 6 RGBA) at `depth` bits, packed as the format says.
local function png(w, h, ctype, depth, pixel, opts)
  opts = opts or {}
  local channels = ({[0] = 1, [2] = 3, [3] = 1, [4] = 2, [6] = 4})[ctype]
  local function row(xs, y)
    local bits, acc, out = 0, 0, {"\0"} -- filter type 0
    for _, x in ipairs(xs) do
      for _, v in ipairs(pixel(x, y)) do
        if depth == 16 then out[#out + 1] = string.pack(">I2", v)
        elseif depth == 8 then out[#out + 1] = string.char(v)
        else
          acc, bits = acc << depth | v, bits + depth
          if bits == 8 then out[#out + 1], acc, bits = string.char(acc), 0, 0 end
        end
      end
    end
    if bits > 0 then out[#out + 1] = string.char(acc << (8 - bits)) end
    return table.concat(out)
  end
  local rows = {}
  local passes = opts.interlace and ADAM7 or {{0, 0, 1, 1}}
  for _, p in ipairs(passes) do
    local xs = {}
    for x = p[1], w - 1, p[3] do xs[#xs + 1] = x end
    if #xs > 0 then
      for y = p[2], h - 1, p[4] do rows[#rows + 1] = row(xs, y) end
    end
  end
  assert(channels)
  local ihdr = string.pack(">I4I4BBBBB", w, h, depth, ctype, 0, 0, opts.interlace and 1 or 0)
  return "\x89PNG\r\n\x1a\n" .. chunk("IHDR", ihdr) .. (opts.before_idat or "")
    .. chunk("IDAT", F.zlib(table.concat(rows))) .. chunk("IEND", "")
end

local function h8(x, y, k) return (x * 37 + y * 101 + k * 53) % 256 end

do
  local files = {}
  local dir = "tests/fixtures/images"
  for _, name in ipairs({"bilevel.png", "cmyk.jpg", "gray.jpg", "gray.png", "gray16.png",
                         "gray_alpha.png", "palette.png", "palette_trns.png",
                         "progressive.jpg", "rgb.jpg", "rgb.png", "rgba.png"}) do
    files["fixture_" .. name] = F.read(dir .. "/" .. name)
  end
  for _, depth in ipairs({1, 2, 4}) do
    files[("gray%d.png"):format(depth)] = png(7, 3, 0, depth,
      function(x, y) return {(x + y) % (1 << depth)} end)
  end
  files["rgb16.png"] = png(3, 2, 2, 16, function(x, y) return {x * 9000, y * 30000, 65535} end)
  files["rgba16.png"] = png(2, 2, 6, 16, function(x, y) return {x * 65535, 1, 2, y * 4000} end)
  files["gray_alpha16.png"] = png(2, 1, 4, 16, function(x) return {x * 300, 65535} end)
  files["gray_trns.png"] = png(3, 3, 0, 8, function(x, y) return {h8(x, y, 0)} end,
    {before_idat = chunk("tRNS", "\0\37")})
  files["rgb_trns.png"] = png(3, 3, 2, 8, function(x, y) return {h8(x, y, 0), 1, 2} end,
    {before_idat = chunk("tRNS", "\0\37\0\1\0\2")})
  files["palette2.png"] = png(5, 2, 3, 2, function(x, y) return {(x + y) % 4} end,
    {before_idat = chunk("PLTE", "\255\0\0\0\255\0\0\0\255\9\9\9") .. chunk("tRNS", "\0\128")})
  files["interlaced_rgb.png"] = png(9, 9, 2, 8,
    function(x, y) return {h8(x, y, 0), h8(x, y, 1), h8(x, y, 2)} end, {interlace = true})
  files["interlaced_gray1.png"] = png(10, 3, 0, 1, function(x, y) return {(x ~ y) & 1} end,
    {interlace = true})
  files["one_pixel.png"] = png(1, 1, 0, 8, function() return {200} end)
  files["one_row.png"] = png(40, 1, 2, 8, function(x) return {x, 255 - x, 7} end)
  local function jpeg(t, quality)
    local base = os.tmpname()
    loupe.image.save(t, base .. ".jpg", {quality = quality})
    local bytes = F.read(base .. ".jpg")
    os.remove(base .. ".jpg")
    os.remove(base)
    return bytes
  end
  files["one_pixel.jpg"] = jpeg(loupe.tensor({{{0.2}}, {{0.5}}, {{0.9}}}), 90)
  files["odd_size.jpg"] = jpeg(F.pattern({3, 9, 17}), 50)
  files["gray8x8.jpg"] = jpeg(F.pattern({1, 8, 8}), 75)
  files["truncated.jpg"] = files["odd_size.jpg"]:sub(1, -40)
  files["truncated.png"] = files["interlaced_rgb.png"]:sub(1, -30)
  corpus("fuzz_image", files)
end

-- ---- loupe.tensor programs (the builder language of fuzz_tensor_table.c) ----
-- A program is a mode byte (the second argument: 0 none, 3 a dtype name, 4 {dtype}, 5
-- {requires_grad}, 6 both, 7 any value) and a value: small integer (op 0, int8), integer (3,
-- 8 bytes LE), double (4, 8 bytes LE), nil (6), boolean (7), string (8, length, bytes),
-- special (9, kind: 0 an earlier table, 1 a tensor, 2 extra keys, 3 deep wrap, 4 repeated
-- row), table (10, count, elements).

local DT = {float32 = 0, int64 = 1, uint8 = 2, float = 3, long = 4, byte = 5, float64 = 6}

local function enc(v)
  if type(v) == "table" and v.op then return v.op end
  if v == nil then return "\6" end
  if type(v) == "boolean" then return "\7" .. (v and "\1" or "\0") end
  if math.type(v) == "integer" then
    if v >= -128 and v <= 127 then return "\0" .. string.pack("i1", v) end
    return "\3" .. string.pack("<i8", v)
  end
  if type(v) == "number" then return "\4" .. string.pack("<d", v) end
  if type(v) == "string" then return "\8" .. string.char(#v) .. v end
  local parts = {"\10", string.char(v.n or #v)}
  for i = 1, v.n or #v do parts[#parts + 1] = enc(v[i]) end
  return table.concat(parts)
end

local function special(kind, ...) return {op = "\9" .. string.char(kind) .. table.concat({...})} end

local function prog(mode, value, opt)
  return string.char(mode) .. enc(value) .. (opt and string.char(DT[opt]) or "")
end

corpus("fuzz_tensor_table", {
  matrix = prog(0, {{1, 2, 3}, {4, 5, 6}}),
  int64 = prog(3, {{1, -2}, {3, 1 << 40}}, "int64"),
  uint8 = prog(4, {0.5, 255, -1}, "byte"),
  floats = prog(0, {1.5, -0.0, 1 / 0, 0 / 0, 1e300}),
  bools = prog(0, {true, false, 3}),
  scalar = prog(0, 4.25),
  empty = prog(0, {}),
  empty_rows = prog(0, {{}, {}}),
  ragged = prog(0, {{1}, {2, 3}}),
  holes = prog(0, {1, nil, 3, n = 3}),
  strings = prog(0, {"1", "x"}),
  requires_grad = prog(5, {{0.5}}) .. "\1",
  grad_int = prog(6, {1, 2}, "int64") .. "\1",
  bad_dtype = prog(3, {1}, "float64"),
  cycle = prog(0, {1, special(0, "\0")}),
  tensor_elem = prog(0, {special(1, "\2"), special(1, "\2")}),
  extra_keys = prog(0, special(2, "\2", "\2", enc(1), enc(2), enc(5), enc(7))),
  extra_key0 = prog(0, special(2 + 8, "\1", enc(1), enc(2), enc(3))),
  deep = prog(0, special(3, "\3", enc(1))),
  deep_ok = prog(0, special(3, "\1", enc(1))),
  repeated = prog(0, special(4, "\50", enc({1, 2, 3, 4}))),
  huge_to_int = prog(4, {1e30}, "long"),
})

print(("%d files under %s"):format(written, ROOT))
