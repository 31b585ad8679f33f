-- test_fuzz_regressions.lua — the inputs that made a fuzz target (tests/fuzz/) crash or showed
-- a parser bug, kept in tests/fuzz/regressions/<target>/, replayed through the public Lua API
-- that the target stands for. Each must give the result listed in EXPECT (an error containing
-- that text, or `true`: it loads), and every file there must be listed, so that a new
-- regression input cannot be forgotten here. `make fuzz` replays them too, as seeds.
--
-- fuzz_tensor_table's inputs are programs of the builder in fuzz_tensor_table.c; build()
-- below is its port to Lua, value for value (tables are pre-sized as lua_createtable does,
-- which decides the border #t of a table with holes). The seed corpus checks the port.
local T = require "testlib"
local loupe = require "loupe"

local DIR = "tests/fuzz/regressions"

local EXPECT = {
  -- a double beyond int64 (or NaN, or an infinity) for an integer dtype: UBSan's
  -- float-cast-overflow in loupe.tensor's fill loop
  ["fuzz_tensor_table/float_to_int64"] = "cannot be converted to int64 without overflow",
  -- a gzip file cut inside its CRC and length trailer loaded as if whole (zlib's gzread
  -- reports that only through gzerror)
  ["fuzz_idx/gzip_trailer_cut"] = "is truncated",
}

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

-- ---- the builder of fuzz_tensor_table.c ----

local DTYPES = {"float32", "int64", "uint8", "float", "long", "byte", "float64", ""}
local MAX_DEPTH = 160

-- A table whose array part has n slots, as lua_createtable(L, n, 0) makes it.
local presized = setmetatable({}, {__index = function(cache, n)
  local f = assert(load("return {" .. ("nil,"):rep(n) .. "}"))
  cache[n] = f
  return f
end})

-- The arguments of loupe.tensor that the program `bytes` builds, and their count.
local function build_args(bytes)
  local pos, pool = 1, {}
  local function byte()
    if pos > #bytes then return 0 end
    pos = pos + 1
    return bytes:byte(pos - 1)
  end
  local function u64()
    local v = 0
    for k = 0, 7 do
      if pos > #bytes then break end
      v = v | byte() << (8 * k)
    end
    return v
  end
  local build
  local function build_table(depth)
    local n = byte() % 8
    local t = presized[n]()
    pool[#pool + 1] = t
    for i = 1, n do t[i] = build(depth + 1) end
    return t
  end
  local function build_special(depth)
    local b = byte()
    local kind = b % 6
    if kind == 0 then
      if #pool == 0 then return nil end
      return pool[1 + byte() % #pool]
    elseif kind == 1 then
      return loupe.zeros(byte() % 4)
    elseif kind == 2 then
      local t = build_table(depth)
      local v = build(depth + 1)
      t[(b >> 3) & 1 == 1 and 0 or #t + 2] = v
      t.x = build(depth + 1)
      return t
    elseif kind == 3 then
      local k = byte() * 4
      local v = build(depth + 1)
      for _ = 1, k do v = {v} end
      return v
    elseif kind == 4 then
      local n = byte()
      local row = build(depth + 1)
      local t = presized[n]()
      for i = 1, n do t[i] = row end
      return t
    end
    return tostring(b >> 3)
  end
  function build(depth)
    local b = byte()
    if depth >= MAX_DEPTH then return b - 128 end
    local op = b % 16
    if op <= 2 then return string.unpack("i1", string.char(byte())) end
    if op == 3 then return u64() end
    if op == 4 then return (string.unpack("<d", string.pack("<i8", u64()))) end
    if op == 5 then return (byte() - 128) / 4.0 end
    if op == 6 then return nil end
    if op == 7 then return byte() & 1 == 1 end
    if op == 8 then
      local n, s = byte() % 8, {}
      for i = 1, n do s[i] = string.char(byte()) end
      return table.concat(s)
    end
    if op == 9 then return build_special(depth) end
    return build_table(depth)
  end
  local mode = byte() % 8
  local value = build(0)
  if mode == 3 then return {value, DTYPES[byte() % 8 + 1], n = 2} end
  if mode == 4 then return {value, {dtype = DTYPES[byte() % 8 + 1]}, n = 2} end
  if mode == 5 then return {value, {requires_grad = byte() & 1 == 1}, n = 2} end
  if mode == 6 then
    local dtype = DTYPES[byte() % 8 + 1]
    return {value, {dtype = dtype, requires_grad = byte() & 1 == 1}, n = 2}
  end
  if mode == 7 then return {value, build(0), n = 2} end
  return {value, n = 1}
end

local function tensor_program(path)
  local args = build_args(read(path))
  return loupe.tensor(table.unpack(args, 1, args.n))
end

-- ---- one replay per target: the calls the fuzz target makes ----

local D = loupe._data
local REPLAY = {
  fuzz_idx = function(path) return D.read_idx(path) end,
  fuzz_cifar = function(path)
    D.read_cifar({path})
    D.read_cifar({path}, {label_bytes = 2, label = 2, num_classes = 100})
    D.read_cifar({path}, {label_bytes = 2, label = 1, num_classes = 20})
    return D.read_cifar({path, path})
  end,
  fuzz_mat = function(path) return D.read_mat(path, {"X", "y"}) end,
  fuzz_safetensors = function(path) return loupe.load(path) end,
  fuzz_image = function(path)
    loupe.image.load(path)
    D.read_images({path})
    return D.read_images({path}, {size = {3, 5}})
  end,
  fuzz_tensor_table = tensor_program,
}

local function list(dir)
  local names = {}
  local p = io.popen("ls " .. dir .. " 2>/dev/null")
  for name in p:lines() do names[#names + 1] = name end
  p:close()
  return names
end

local tests = {}

function tests.every_regression_input_gives_its_clean_result()
  local seen = 0
  for _, target in ipairs(list(DIR)) do
    local replay = REPLAY[target]
    T.truthy(replay, "no replay for the regression folder " .. target)
    for _, name in ipairs(list(DIR .. "/" .. target)) do
      local key = target .. "/" .. name
      local want = EXPECT[key]
      T.truthy(want ~= nil, key .. " is not listed in EXPECT")
      local ok, err = pcall(replay, DIR .. "/" .. key)
      if want == true then
        T.truthy(ok, key .. ": expected it to load, got " .. tostring(err))
      else
        T.eq(ok, false, key .. " must fail")
        T.truthy(tostring(err):find(want, 1, true),
          ("%s: expected an error containing '%s', got '%s'"):format(key, want, tostring(err)))
      end
      seen = seen + 1
    end
  end
  local listed = 0
  for _ in pairs(EXPECT) do listed = listed + 1 end
  T.eq(seen, listed, "regression inputs found (EXPECT lists files that are missing)")
end

-- The port of the builder against the seeds that tests/fuzz/make_corpus.lua encodes.
function tests.builder_port_reads_the_seed_programs()
  local dir = "tests/fuzz/corpus/fuzz_tensor_table/"
  local function run(name) return tensor_program(dir .. name) end
  T.eq(table.concat(run("matrix"):shape(), ","), "2,3")
  T.eq(run("matrix")[2][3]:item(), 6)
  local big = run("int64")
  T.eq(big:dtype(), "int64")
  T.eq(big[2][2]:item(), 1 << 40)
  T.eq(run("uint8"):dtype(), "uint8")
  T.eq(run("repeated"):shape()[1], 50)
  T.eq(run("deep_ok"):dim(), 4)
  T.raises(function() run("holes") end, "got nil")
  T.truthy(run("requires_grad").requires_grad, "requires_grad seed")
  T.raises(function() run("ragged") end, "ragged")
  T.raises(function() run("deep") end, "nesting deeper")
  T.raises(function() run("bad_dtype") end, "unknown dtype 'float64'")
  T.raises(function() run("strings") end, "got string")
  T.raises(function() run("huge_to_int") end, "cannot be converted to int64")
end

function tests.tensor_refuses_values_an_integer_dtype_cannot_hold()
  for _, v in ipairs({0 / 0, 1 / 0, -1 / 0, 2 ^ 63, -2 ^ 64, 1e300}) do
    T.raises(function() loupe.tensor({1, v}, "int64") end,
      "tensor: element 2 (" .. ("%g"):format(v))
    T.raises(function() loupe.tensor({{v}}, "uint8") end, "cannot be converted to uint8")
  end
  T.eq(loupe.tensor({-2 ^ 63, 2.9, math.maxinteger}, "int64")[1]:item(), math.mininteger)
  T.eq(loupe.tensor({0 / 0, 1 / 0}):numel(), 2) -- float32 holds them
end

return tests
