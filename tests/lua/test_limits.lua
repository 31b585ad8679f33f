-- test_limits.lua — sizes are checked before memory is allocated, and a refused allocation is
-- the Lua error "out of memory allocating tensor [60000,3,224,224] float32 (36.1 GB)".
--
-- LOUPE_MAX_BYTES is read once per process, so each case runs in a child ./loupe with the
-- limit lowered; the child prints "ok <result>" or "error <message>" and must exit normally.
-- The files (IDX, CIFAR, MAT, safetensors, PNG, JPEG) are written here by hand, so the cases
-- need no dataset; MNIST's real training file is used when it is present.
local loupe = require "loupe"
local T = require "testlib"
local F = require "data_fixtures"

local host = os.getenv("LOUPE") or "./loupe"
local q = F.q

local tests = {}

-- Runs `body` (a Lua chunk whose value is printed) in a child with LOUPE_MAX_BYTES = limit.
-- Returns "ok ..." or "error <message>", failing if the child does not exit normally. $LOUPE
-- may be a command with arguments (make valgrind runs the children under valgrind).
local function child(limit, body)
  local script = os.tmpname()
  F.write(script, ([[
local loupe = require "loupe"
package.path = "tests/lua/?.lua;" .. package.path
local ok, r = pcall(function() %s end)
io.write(ok and "ok " .. tostring(r) or "error " .. tostring(r), "\n")
]]):format(body))
  local env = limit and ("LOUPE_MAX_BYTES=" .. limit .. " ") or ""
  local p = io.popen(env .. "ASAN_OPTIONS=allocator_may_return_null=1 " .. host .. " "
                     .. q(script) .. " 2>&1")
  local out = p:read("a")
  local okc, how, code = p:close()
  os.remove(script)
  if not okc then
    error(("child ended with %s %s:\n%s"):format(tostring(how), tostring(code), out:sub(-2000)), 2)
  end
  -- the result line (a wrapper such as valgrind may print after it)
  local result
  for line in out:gmatch("[^\n]+") do
    if line:match("^ok ") or line:match("^error ") then result = line end
  end
  return result or out:gsub("\n$", ""):match("[^\n]*$")
end

-- The child's error must be exactly `message` (after any "file:line: " prefix of a Lua-side
-- caller) or, with contains = true, contain it.
local function expect_error(result, message, contains)
  local msg = result:match("^error (.*)$")
  T.truthy(msg, "expected an error, got: " .. result)
  if contains then
    T.truthy(msg:find(message, 1, true), ("expected '%s' in '%s'"):format(message, msg))
  else
    T.eq(msg:gsub("^[^:]*:%d+: ", ""), message)
  end
end

-- ---- the message ----

function tests.zeros_36_gb_message_whatever_the_limit()
  local want = "out of memory allocating tensor [60000,3,224,224] float32 (36.1 GB)"
  for _, limit in ipairs{1000000000, 36000000000, 1} do
    expect_error(child(limit, "return loupe.zeros(60000, 3, 224, 224)"), want)
  end
end

function tests.sizes_in_decimal_units()
  local cases = {
    {"250", "float32", "1.0 KB"}, {"10", "uint8", "10 B"}, {"999", "uint8", "999 B"},
    {"1000", "uint8", "1.0 KB"}, {"999949", "uint8", "999.9 KB"},
    {"999950", "uint8", "1.0 MB"}, {"1000,1000", "int64", "8.0 MB"},
    {"1099511627776", "uint8", "1.1 TB"},
    {"4611686018427387904", "float32", "18446744.1 TB"}, -- beyond 64 bits of bytes: named too
  }
  for _, c in ipairs(cases) do
    expect_error(child(1, ("return loupe.zeros({%s}, {dtype = %q})"):format(c[1], c[2])),
                 ("out of memory allocating tensor [%s] %s (%s)"):format(c[1], c[2], c[3]))
  end
end

function tests.limit_is_one_allocation_not_the_total()
  -- 10 tensors of 100 KB under a 200 KB limit: fine; one of 300 KB: refused
  T.eq(child(200000, [[
    local keep = {}
    for i = 1, 10 do keep[i] = loupe.zeros(25000) end
    return #keep]]), "ok 10")
  expect_error(child(200000, "return loupe.zeros(75000)"),
               "out of memory allocating tensor [75000] float32 (300.0 KB)")
  -- a failed allocation leaves the process usable
  T.eq(child(200000, [[
    assert(not pcall(loupe.zeros, 75000))
    return loupe.ones(3):sum():item()]]), "ok 3.0")
end

function tests.ops_and_views_hit_the_same_limit()
  -- results of ops, contiguous copies of views, conversions: one message form
  local cases = {
    {"loupe.ones(1):expand(1000, 1000):contiguous()", "[1000,1000] float32 (4.0 MB)"},
    {"loupe.ones(1000, 1) + loupe.ones(1, 1000)", "[1000,1000] float32 (4.0 MB)"},
    {"loupe.ones(500, 500, {dtype = 'uint8'}):long()", "[500,500] int64 (2.0 MB)"},
    {"loupe.ones(2500, 10):mm(loupe.ones(10, 2500))", "[2500,2500] float32 (25.0 MB)"},
  }
  for _, c in ipairs(cases) do
    expect_error(child(1000000, "return " .. c[1]), "out of memory allocating tensor " .. c[2])
  end
end

-- ---- dataset readers ----

-- The MNIST training images: the real file when present, else one written here with the same
-- header and size (47 MB of zeros). Returns the dataset root and a cleanup function.
local function mnist_root()
  local real = "datasets/mnist/train-images-idx3-ubyte"
  if io.open(real) or io.open(real .. ".gz") then return "datasets", function() end end
  local root, done = F.tmpdir()
  F.mkdir(root .. "/mnist")
  F.write(root .. "/mnist/train-images-idx3-ubyte",
          F.idx(0x08, {60000, 28, 28}, ("\0"):rep(60000 * 28 * 28)))
  F.write(root .. "/mnist/train-labels-idx1-ubyte", F.idx(0x08, {60000}, ("\3"):rep(60000)))
  return root, done
end

function tests.mnist_train_under_a_47_mb_limit()
  local root, done = mnist_root()
  local call = ("return loupe.data.mnist{split = 'train', root = %q}"):format(root)
  -- 60000 * 28 * 28 = 47,040,000 bytes, refused under 47 MB, in the dataset's own shape
  expect_error(child(46000000, call),
               "out of memory allocating tensor [60000,1,28,28] uint8 (47.0 MB)")
  T.truthy(child(48000000, call .. ".x:size(1)"):find("^ok 60000"), "read under 48 MB")
  done()
end

function tests.idx_sizes_against_the_file_and_the_limit()
  local dir, done = F.tmpdir()
  local p = dir .. "/t-idx3-ubyte"
  -- a header claiming 60000 x 3 x 224 x 224 with 16 bytes of data: refused from the file size
  F.write(p, F.idx(0x08, {60000, 3, 224, 224}, ("\0"):rep(16)))
  expect_error(child(nil, ("return loupe._data.read_idx(%q)"):format(p)),
               "declares [60000,3,224,224] unsigned byte elements (9031680000 bytes of data), "
               .. "but the file holds 16 bytes", true)
  -- the same in gzip: more than 16 compressed bytes can inflate to
  F.write(p .. ".gz", F.gzip(F.idx(0x08, {60000, 3, 224, 224}, ("\0"):rep(16))))
  expect_error(child(nil, ("return loupe._data.read_idx(%q)"):format(p .. ".gz")),
               "more data than a", true)
  -- a truncated file
  F.write(p, F.idx(0x08, {100, 10}, ("\0"):rep(999)))
  expect_error(child(nil, ("return loupe._data.read_idx(%q)"):format(p)),
               "but the file holds 999 bytes", true)
  -- a consistent file over the limit; int32 data become int64 (8 bytes each)
  F.write(p, F.idx(0x0C, {1000, 10}, ("\0"):rep(40000)))
  expect_error(child(50000, ("return loupe._data.read_idx(%q)"):format(p)),
               "out of memory allocating tensor [1000,10] int64 (80.0 KB)")
  T.eq(child(100000, ("return loupe._data.read_idx(%q):numel()"):format(p)), "ok 10000")
  done()
end

function tests.cifar_and_mat_over_the_limit()
  local dir, done = F.tmpdir()
  F.mkdir(dir .. "/cifar-10-batches-bin")
  local x = F.pattern({4, 3, 32, 32})
  local rec = F.cifar({{1}, {2}, {3}, {4}}, x)
  for _, f in ipairs{"data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4",
                     "data_batch_5", "test_batch"} do
    F.write(dir .. "/cifar-10-batches-bin/" .. f .. ".bin", rec)
  end
  F.write(dir .. "/cifar-10-batches-bin/batches.meta.txt",
          "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n")
  expect_error(child(40000, ("return loupe.data.cifar10{root = %q}"):format(dir)),
               "out of memory allocating tensor [20,3,32,32] uint8 (61.4 KB)", true)
  T.eq(child(70000, ("return #loupe.data.cifar10{root = %q}"):format(dir)), "ok 20")
  -- a MAT double array of 100 x 100 stored as uint8 (as MATLAB stores small integers): 10 KB
  -- in the file, 40 KB as float32
  local W = F.mat_writer("<")
  local p = dir .. "/m.mat"
  F.write(p, W.header() .. W.matrix("X", {class = F.mx.double, dims = {100, 100},
                                          mi = F.mi.uint8, data = ("\1"):rep(10000)}))
  expect_error(child(30000, ("return loupe._data.read_mat(%q, {'X'})"):format(p)),
               "out of memory allocating tensor [100,100] float32 (40.0 KB)", true)
  T.eq(child(50000, ("return loupe._data.read_mat(%q, {'X'}).X:sum():item()"):format(p)),
       "ok 10000.0")
  done()
end

function tests.image_folder_batch_over_the_limit()
  local dir, done = F.tmpdir()
  for c = 1, 2 do
    F.mkdir(dir .. "/class" .. c)
    for i = 1, 10 do
      loupe.image.save(loupe.rand(3, 16, 16), ("%s/class%d/%02d.png"):format(dir, c, i))
    end
  end
  -- each image decodes within the limit; the batch of 20 does not
  expect_error(child(10000, ("return loupe.data.image_folder{root = %q}"):format(dir)),
               "out of memory allocating tensor [20,3,16,16] uint8 (15.4 KB)", true)
  T.eq(child(20000, ("return #loupe.data.image_folder{root = %q}"):format(dir)), "ok 20")
  done()
end

-- ---- safetensors ----

-- A safetensors file: header (JSON text) and data bytes.
local function st_bytes(header, data)
  local pad = (8 - #header % 8) % 8
  header = header .. (" "):rep(pad)
  return string.pack("<I8", #header) .. header .. data
end

function tests.safetensors_huge_declared_tensor_rejected_before_allocation()
  local dir, done = F.tmpdir()
  local p = dir .. "/w.safetensors"
  -- consistent shape and offsets, but the data would lie far beyond the file's 16 bytes
  F.write(p, st_bytes('{"w":{"dtype":"F32","shape":[60000,3,224,224],'
                      .. '"data_offsets":[0,36126720000]}}', ("\0"):rep(16)))
  local r = child(nil, ("return loupe.load(%q)"):format(p))
  expect_error(r, "safetensors: tensor 'w' in '" .. p .. "': data_offsets [0,36126720000] lie "
               .. "beyond the", true)
  T.truthy(not r:find("out of memory"), "rejected from the file size, not by allocating: " .. r)
  -- a shape whose byte count overflows 64 bits
  F.write(p, st_bytes('{"w":{"dtype":"F32","shape":[4611686018427387904,8],'
                      .. '"data_offsets":[0,16]}}', ("\0"):rep(16)))
  expect_error(child(nil, ("return loupe.load(%q)"):format(p)), "safetensors: tensor 'w'", true)
  done()
end

function tests.safetensors_truncated_files_rejected()
  local dir, done = F.tmpdir()
  local p = dir .. "/w.safetensors"
  local good = st_bytes('{"w":{"dtype":"F32","shape":[100],"data_offsets":[0,400]}}',
                        ("\0"):rep(400))
  F.write(p, good)
  T.eq(child(nil, ("return loupe.load(%q).w:numel()"):format(p)), "ok 100")
  -- cut inside the data, inside the header, inside the length field
  for _, cut in ipairs{#good - 1, #good - 400, 40, 5, 0} do
    F.write(p, good:sub(1, cut))
    local r = child(nil, ("return loupe.load(%q)"):format(p))
    expect_error(r, "'" .. p .. "'", true)
    T.truthy(r:find("truncated") or r:find("lie beyond") or r:find("header"), r)
  end
  done()
end

function tests.safetensors_over_the_limit_and_chunked_conversion()
  local dir, done = F.tmpdir()
  local p = dir .. "/w.safetensors"
  -- F64 data of 100,000 values (800 KB) convert to float32 (400 KB) through a small buffer,
  -- so a 500 KB limit is enough; the values survive the chunking
  local vals = {}
  for i = 1, 100000 do vals[i] = string.pack("<d", i % 1000) end
  F.write(p, st_bytes('{"w":{"dtype":"F64","shape":[100000],"data_offsets":[0,800000]}}',
                      table.concat(vals)))
  T.eq(child(500000, ("local w = loupe.load(%q).w; return w:sum():item() .. ' ' .. w[100000]:item()"):format(p)),
       "ok 49950000.0 0.0")
  expect_error(child(300000, ("return loupe.load(%q)"):format(p)),
               "safetensors: tensor 'w' in '" .. p .. "': out of memory allocating tensor "
               .. "[100000] float32 (400.0 KB)", true)
  done()
end

-- ---- images ----

local function crc32(s)
  local crc = 0xffffffff
  for i = 1, #s do
    crc = crc ~ s:byte(i)
    for _ = 1, 8 do crc = (crc >> 1) ~ (0xedb88320 & -(crc & 1)) end
  end
  return crc ~ 0xffffffff
end

local function png_chunk(kind, data)
  return string.pack(">I4", #data) .. kind .. data .. string.pack(">I4", crc32(kind .. data))
end

function tests.png_header_larger_than_the_file_can_hold()
  local dir, done = F.tmpdir()
  local p = dir .. "/big.png"
  -- 100000 x 100000 RGB declared in a 70-byte file: deflate cannot inflate that far
  F.write(p, "\137PNG\r\n\26\n" .. png_chunk("IHDR", string.pack(">I4I4BBBBB", 100000, 100000, 8, 2, 0, 0, 0))
          .. png_chunk("IDAT", F.zlib(("\0"):rep(100))) .. png_chunk("IEND", ""))
  expect_error(child(nil, ("return loupe.image.load(%q)"):format(p)),
               "image.load: PNG file '" .. p .. "' declares 100000x100000 pixels, more than its",
               true)
  done()
end

function tests.decoded_images_checked_against_the_limit_first()
  local dir, done = F.tmpdir()
  for _, ext in ipairs{"png", "jpg"} do
    local p = dir .. "/img." .. ext
    loupe.image.save(loupe.rand(3, 100, 100), p)
    -- [100,100,3] uint8 fits in 50 KB, the float32 [3,100,100] result (120 KB) does not
    expect_error(child(50000, ("return loupe.image.load(%q)"):format(p)),
                 "out of memory allocating tensor [3,100,100] float32 (120.0 KB)", true)
    T.eq(child(50000, ("return loupe.image.load(%q, {channels = 1}):numel()"):format(p)),
         "ok 10000")
  end
  -- a JPEG whose frame header is patched to 65000 x 65000: refused before decoding
  local jpg = F.read(dir .. "/img.jpg")
  local sof = jpg:find("\255\192", 3, true)
  T.truthy(sof, "a baseline JPEG")
  local patched = jpg:sub(1, sof + 4) .. string.pack(">I2I2", 65000, 65000) .. jpg:sub(sof + 9)
  F.write(dir .. "/big.jpg", patched)
  expect_error(child(1000000000, ("return loupe.image.load(%q)"):format(dir .. "/big.jpg")),
               "out of memory allocating tensor [65000,65000,3] uint8 (12.7 GB)", true)
  done()
end

return tests
