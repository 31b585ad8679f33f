-- data_fixtures.lua — writers of tiny dataset files for test_data.lua: IDX (raw and gzip),
-- CIFAR binary records, MATLAB level-5 MAT files (compressed or not, either byte order), and
-- helpers for temporary folders. Compression uses the system's gzip (Debian: essential); a
-- zlib stream for MAT files is gzip's deflate data with a zlib header and Adler-32 trailer.
local loupe = require "loupe"

local M = {}

function M.write(path, bytes)
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
end

function M.read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
M.q = q

-- A fresh empty folder and a function that removes it.
function M.tmpdir()
  local base = os.tmpname()
  os.remove(base)
  assert(os.execute("mkdir -p " .. q(base)))
  return base, function() os.execute("rm -rf " .. q(base)) end
end

function M.mkdir(path) assert(os.execute("mkdir -p " .. q(path))) end

-- The bytes of a uint8 tensor, in row-major order.
function M.bytes(t)
  local flat = t:contiguous():view(-1):totable()
  local parts = {}
  for i = 1, #flat, 4096 do
    parts[#parts + 1] = string.char(table.unpack(flat, i, math.min(i + 4095, #flat)))
  end
  return table.concat(parts)
end

-- ---- compression ----

-- gzip's output for `bytes` (no name, no time stamp: gzip -n).
function M.gzip(bytes)
  local raw = os.tmpname()
  M.write(raw, bytes)
  local p = assert(io.popen("gzip -n -c < " .. q(raw)))
  local gz = p:read("a")
  p:close()
  os.remove(raw)
  assert(#gz >= 18 and gz:byte(1) == 0x1f and gz:byte(2) == 0x8b, "gzip failed")
  return gz
end

local function adler32(s)
  local a, b = 1, 0
  for i = 1, #s do
    a = (a + s:byte(i)) % 65521
    b = (b + a) % 65521
  end
  return b << 16 | a
end

-- A zlib stream (RFC 1950) of bytes: gzip's deflate data between a zlib header and trailer.
function M.zlib(bytes)
  local gz = M.gzip(bytes)
  assert(gz:byte(4) == 0, "unexpected gzip header flags")
  return "\x78\x9c" .. gz:sub(11, -9) .. string.pack(">I4", adler32(bytes))
end

-- ---- IDX ----

-- An IDX file: type code, dims, and the data already encoded (big-endian).
function M.idx(code, dims, data)
  local h = string.pack("BBBB", 0, 0, code, #dims)
  for _, d in ipairs(dims) do h = h .. string.pack(">I4", d) end
  return h .. data
end

-- An IDX uint8 file of the tensor t.
function M.idx_u8(t) return M.idx(0x08, t:shape(), M.bytes(t)) end

-- ---- CIFAR ----

-- CIFAR records: labels[i] is a list of label bytes, images a uint8 tensor [N, 3, 32, 32].
function M.cifar(labels, images)
  local parts = {}
  for i, l in ipairs(labels) do
    parts[#parts + 1] = string.char(table.unpack(l)) .. M.bytes(images[i])
  end
  return table.concat(parts)
end

-- ---- MATLAB level 5 ----

M.mi = {int8 = 1, uint8 = 2, int16 = 3, uint16 = 4, int32 = 5, uint32 = 6, single = 7,
        double = 9, int64 = 12, uint64 = 13, matrix = 14, compressed = 15}
M.mx = {cell = 1, struct = 2, char = 4, double = 6, single = 7, int8 = 8, uint8 = 9,
        int16 = 10, int32 = 12, int64 = 14}
local FORMAT = {[1] = "i1", [2] = "I1", [3] = "i2", [4] = "I2", [5] = "i4", [6] = "I4",
                [7] = "f", [9] = "d", [12] = "i8", [13] = "I8"}

-- A MAT writer for one byte order ("<" little-endian, ">" big-endian).
function M.mat_writer(order)
  local W = {order = order}
  local E = order

  -- The 128-byte header (version 0x0100, endian indicator).
  function W.header(version)
    local text = "MATLAB 5.0 MAT-file, written by loupe's tests"
    text = text .. (" "):rep(116 - #text)
    return text .. ("\0"):rep(8) .. string.pack(E .. "I2", version or 0x0100)
      .. (E == "<" and "IM" or "MI")
  end

  -- A data element: tag, data, padding to 8 bytes (none with nopad).
  function W.element(mi, data, nopad)
    local pad = nopad and "" or ("\0"):rep((8 - #data % 8) % 8)
    return string.pack(E .. "I4I4", mi, #data) .. data .. pad
  end

  -- A small-format element (1..4 bytes of data in the tag).
  function W.small(mi, data)
    assert(#data <= 4)
    return string.pack(E .. "I4", #data << 16 | mi) .. data .. ("\0"):rep(4 - #data)
  end

  -- Values packed as type mi.
  function W.values(mi, list)
    local parts = {}
    for i, v in ipairs(list) do parts[i] = string.pack(E .. FORMAT[mi], v) end
    return table.concat(parts)
  end

  -- An miMATRIX element. opts: class (M.mx), dims (MATLAB order), data (bytes, stored as
  -- type mi), flags (extra flag bits), small_name, small_data, data_element (raw override).
  function W.matrix(name, opts)
    local flags = W.element(M.mi.uint32, string.pack(E .. "I4I4", opts.class | (opts.flags or 0), 0))
    local dims = W.element(M.mi.int32, W.values(M.mi.int32, opts.dims))
    local nm = (#name <= 4 and opts.small_name ~= false) and W.small(M.mi.int8, name)
      or W.element(M.mi.int8, name)
    local data = opts.data_element
      or (opts.small_data and W.small(opts.mi, opts.data) or W.element(opts.mi, opts.data))
    return W.element(M.mi.matrix, flags .. dims .. nm .. data)
  end

  -- An miCOMPRESSED element holding the element `inner` (unpadded, as MATLAB writes it).
  function W.compressed(inner) return W.element(M.mi.compressed, M.zlib(inner), true) end

  return W
end

-- uint8 tensor [N, C, H, W] -> the bytes of MATLAB's X [H, W, C, N] (column-major).
function M.column_major(x) return M.bytes(x:transpose(3, 4):contiguous()) end

-- A deterministic uint8 tensor of the given shape: a multiplicative hash of the position, so
-- no two channels, rows or images repeat each other (a swap or transposition shows).
function M.pattern(shape, seed)
  local n = 1
  for _, s in ipairs(shape) do n = n * s end
  local flat = {}
  for i = 1, n do flat[i] = ((i + 7919 * (seed or 0)) * 2654435761 >> 16) % 256 end
  return loupe.tensor(flat, "uint8"):view(shape)
end

return M
