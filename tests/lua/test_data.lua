-- test_data.lua — the dataset readers (loupe._data) and dataset objects (loupe.data) on tiny
-- files the tests write themselves (writers: data_fixtures.lua): IDX raw and gzip, CIFAR-10/100
-- records, MATLAB v5 files (compressed and not, both byte orders), image folders; every kind of
-- bad input is a clear error naming the file. The real MNIST and Fashion-MNIST are checked
-- when datasets/fetch has put them in datasets/ (a SKIP line otherwise).
local loupe = require "loupe"
local T = require "testlib"
local F = require "data_fixtures"
local D = loupe._data

local tests = {}

local function shape(t) return table.concat(t:shape(), ",") end

-- Runs fn(dir) in a fresh temporary folder, removed afterwards even if fn fails.
local function in_tmp(fn)
  local dir, cleanup = F.tmpdir()
  local ok, err = pcall(fn, dir)
  cleanup()
  if not ok then error(err, 0) end
end

-- ---- IDX ----

function tests.idx_uint8_raw_and_gzip()
  in_tmp(function(dir)
    local x = F.pattern({3, 4, 5})
    F.write(dir .. "/a", F.idx_u8(x))
    F.write(dir .. "/a.gz", F.gzip(F.idx_u8(x)))
    for _, p in ipairs({dir .. "/a", dir .. "/a.gz"}) do
      local t = D.read_idx(p)
      T.eq(t:dtype(), "uint8", p)
      T.eq(shape(t), "3,4,5", p)
      T.truthy(t:equal(x), p .. " contents")
    end
  end)
end

function tests.idx_wider_types_are_big_endian()
  in_tmp(function(dir)
    local cases = {
      {0x09, ">i1", {-128, 5, 127}, "int64"}, {0x0B, ">i2", {-300, 2, 32767}, "int64"},
      {0x0C, ">i4", {-70000, 7, 2147483647}, "int64"}, {0x0D, ">f", {1.5, -2.25, 1e30}, "float32"},
      {0x0E, ">d", {0.1, -3.5, 1e300}, "float32"},
    }
    for _, c in ipairs(cases) do
      local data = {}
      for i, v in ipairs(c[3]) do data[i] = string.pack(c[2], v) end
      local p = dir .. "/t" .. c[1]
      F.write(p, F.idx(c[1], {3}, table.concat(data)))
      local t = D.read_idx(p)
      T.eq(t:dtype(), c[4], p)
      local got = t:float():totable()
      for i, v in ipairs(c[3]) do
        if c[1] == 0x0E and i == 3 then
          T.eq(got[i], math.huge, "1e300 overflows float32")
        else
          T.close(got[i], v, 1e-6, ("type 0x%02x element %d"):format(c[1], i))
        end
      end
    end
  end)
end

function tests.idx_bad_files()
  in_tmp(function(dir)
    local good = F.idx_u8(F.pattern({3, 4, 5}))
    local function bad(name, bytes, pattern)
      local p = dir .. "/" .. name
      F.write(p, bytes)
      T.raises(function() D.read_idx(p) end, pattern)
      T.raises(function() D.read_idx(p) end, p)
    end
    bad("truncated", good:sub(1, -2), "declares [3,4,5] unsigned byte elements (60 bytes of data), but the file holds 59 bytes")
    bad("extra", good .. "x", "but the file holds 61 bytes")
    bad("zip", "PK\3\4" .. good:sub(5), "is not an IDX file (magic bytes 50 4b 03 04")
    bad("type", "\0\0\7\3" .. good:sub(5), "is not an IDX file")
    bad("ndim0", "\0\0\8\0", "declares 0 dimensions")
    bad("ndim9", "\0\0\8\9" .. ("\0\0\0\1"):rep(9), "declares 9 dimensions")
    bad("empty", "", "truncated: the magic number ends after 0 of 4 bytes")
    bad("shortdims", "\0\0\8\3\0\0\0\3", "truncated: the dimensions ends after 4 of 12 bytes")
    -- absurd sizes are refused from the header alone, before any allocation
    bad("huge", F.idx(0x08, {2147483648, 2147483648}, "abc"),
        "declares [2147483648,2147483648] unsigned byte elements (4611686018427387904 bytes of data)")
    bad("overflow", F.idx(0x0C, {4294967295, 4294967295, 4294967295}, ""), "(over 2^63 bytes of data)")
    local gz = F.gzip(F.idx(0x08, {65536, 65536, 64}, ("\0"):rep(100)))
    bad("huge.gz", gz, "declares [65536,65536,64] unsigned byte elements, more data than a")
    local ok = F.gzip(good)
    bad("cut.gz", ok:sub(1, #ok // 2), "is truncated")
    -- a damaged CRC in the gzip trailer
    local crc = ok:sub(1, -9) .. string.char((ok:byte(-8) + 1) % 256) .. ok:sub(-7)
    bad("crc.gz", crc, "corrupt compressed data")
    bad("extra.gz", F.gzip(good .. "more"), "has extra bytes after the data its header declares")
    T.raises(function() D.read_idx(dir .. "/nonexistent") end, "cannot open '" .. dir .. "/nonexistent': No such file")
    T.raises(function() D.read_idx(dir) end, "is not a regular file")
  end)
end

-- ---- MNIST-style datasets ----

-- Writes an MNIST-layout dataset under root/<sub>: n images of h x w and their labels.
local function write_mnist(root, sub, split, images, labels, gz)
  local dir = root .. "/" .. sub
  F.mkdir(dir)
  local prefix = split == "train" and "train" or "t10k"
  local img = F.idx_u8(images)
  local lab = F.idx(0x08, {#labels}, string.char(table.unpack(labels)))
  F.write(dir .. "/" .. prefix .. "-images-idx3-ubyte" .. (gz and ".gz" or ""), gz and F.gzip(img) or img)
  F.write(dir .. "/" .. prefix .. "-labels-idx1-ubyte" .. (gz and ".gz" or ""), gz and F.gzip(lab) or lab)
end

function tests.mnist_object()
  in_tmp(function(root)
    local images = F.pattern({5, 28, 28})
    write_mnist(root, "mnist", "train", images, {5, 0, 4, 1, 9})
    write_mnist(root, "fashion-mnist", "test", images, {9, 0, 0, 3, 0}, true)
    local ds = loupe.data.mnist{root = root}
    T.eq(#ds, 5)
    T.eq(shape(ds.x), "5,1,28,28")
    T.eq(ds.x:dtype(), "uint8")
    T.eq(ds.y:dtype(), "int64")
    T.eq(table.concat(ds.y:totable(), ","), "6,1,5,2,10")
    T.eq(ds.classes[6], "5")
    T.eq(ds.name, "mnist")
    T.eq(ds.split, "train")
    local s = ds[3]
    T.truthy(s.x:equal(images[3]:view(1, 28, 28)), "ds[3].x")
    T.eq(s.y, 5)
    local x, y = ds:get(5)
    T.eq(y, 10)
    T.eq(shape(x), "1,28,28")
    T.truthy(tostring(ds):find("mnist (train): 5 samples, x uint8 [5,1,28,28], 10 classes", 1, true), tostring(ds))
    T.raises(function() return ds[6] end, "mnist: index 6 out of range 1..5")
    T.raises(function() return ds:get(0) end, "index 0 out of range")
    local f = loupe.data.fashion_mnist{root = root, split = "test", labels = {1, "Dress"}, flatten = true}
    T.eq(shape(f.x), "4,784")
    T.eq(table.concat(f.y:totable(), ","), "1,1,2,1") -- digits 0 0 3 0 of 9 0 0 3 0
    T.eq(table.concat(f.classes, ","), "T-shirt/top,Dress")
    T.truthy(f.x[1]:equal(images[2]:view(784)), "the kept samples, in order")
  end)
end

function tests.mnist_errors()
  in_tmp(function(root)
    T.raises(function() loupe.data.mnist{root = root} end,
             "mnist: dataset not found in " .. root .. "/mnist — run: datasets/fetch mnist " .. root)
    T.raises(function() loupe.data.kmnist{root = root} end, "run: datasets/fetch kmnist " .. root)
    local images = F.pattern({5, 28, 28})
    write_mnist(root, "mnist", "train", images, {5, 0, 4, 1, 9})
    T.raises(function() loupe.data.mnist{root = root, split = "test"} end,
             "mnist: t10k-images-idx3-ubyte[.gz] not found in " .. root .. "/mnist — run: datasets/fetch mnist")
    T.raises(function() loupe.data.mnist{root = root, split = "valid"} end, "split must be \"train\" or \"test\"")
    T.raises(function() loupe.data.mnist{root = root, splt = "test"} end, "unknown option 'splt'")
    T.raises(function() loupe.data.mnist{root = root, labels = {11}} end, "labels[1] = 11 is not a class (1..10")
    T.raises(function() loupe.data.mnist{root = root, labels = {2, 2}} end, "class 2 appears twice")
    T.raises(function() loupe.data.mnist{root = root, labels = {"seven"}} end, "labels[1] = seven is not a class")
    -- counts that disagree, and a label that is not a digit
    write_mnist(root, "mnist", "test", images, {1, 2, 3})
    T.raises(function() loupe.data.mnist{root = root, split = "test"} end, "holds 5 images but '" .. root .. "/mnist/t10k-labels-idx1-ubyte' holds 3 labels")
    write_mnist(root, "mnist", "test", images, {1, 2, 10, 3, 4})
    T.raises(function() loupe.data.mnist{root = root, split = "test"} end, "t10k-labels-idx1-ubyte': entry 3 is 10, expected an integer in 0..9")
  end)
end

-- ---- CIFAR ----

local function write_cifar10(root, n_per_batch)
  local dir = root .. "/cifar-10-batches-bin"
  F.mkdir(dir)
  local all, labels = {}, {}
  for b = 1, 6 do
    local imgs = F.pattern({n_per_batch, 3, 32, 32}, b)
    local ls = {}
    for i = 1, n_per_batch do ls[i] = {(b * 3 + i) % 10} end
    local name = b <= 5 and ("data_batch_%d.bin"):format(b) or "test_batch.bin"
    F.write(dir .. "/" .. name, F.cifar(ls, imgs))
    all[b], labels[b] = imgs, ls
  end
  F.write(dir .. "/batches.meta.txt", "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n")
  return all, labels
end

function tests.cifar10_object()
  in_tmp(function(root)
    local imgs, labels = write_cifar10(root, 2)
    local ds = loupe.data.cifar10{root = root}
    T.eq(shape(ds.x), "10,3,32,32")
    T.truthy(ds.x:narrow(1, 3, 2):equal(imgs[2]), "batch 2 follows batch 1")
    local want = {}
    for b = 1, 5 do for i = 1, 2 do want[#want + 1] = labels[b][i][1] + 1 end end
    T.eq(table.concat(ds.y:totable(), ","), table.concat(want, ","))
    T.eq(ds.classes[6], "dog")
    local test = loupe.data.cifar10{root = root, split = "test"}
    T.eq(#test, 2)
    T.truthy(test.x:equal(imgs[6]), "test images")
    -- dog vs ship, as the seeds' labels=[5, 8]
    local sub = loupe.data.cifar10{root = root, labels = {6, 9}}
    T.eq(table.concat(sub.classes, ","), "dog,ship")
    local kept = {}
    for _, l in ipairs(want) do
      if l == 6 then kept[#kept + 1] = 1 elseif l == 9 then kept[#kept + 1] = 2 end
    end
    T.eq(table.concat(sub.y:totable(), ","), table.concat(kept, ","))
  end)
end

function tests.cifar_grayscale_is_torchvision_luma()
  in_tmp(function(root)
    write_cifar10(root, 2)
    local rgb = loupe.data.cifar10{root = root}
    local gray = loupe.data.cifar10{root = root, grayscale = true, flatten = true}
    T.eq(gray.x:dtype(), "float32")
    T.eq(shape(gray.x), "10,1024")
    local x = rgb.x:float():div(255)
    local want = x:select(2, 1) * 0.2989 + x:select(2, 2) * 0.587 + x:select(2, 3) * 0.114
    T.close(gray.x, want:reshape(10, 1024), 1e-6, "luma")
    -- the bit-exactness against torchvision over all 2^24 colours was checked once with
    -- Debian's python3-torchvision (rgb_to_grayscale(x.float() / 255)): identical
    T.raises(function() D.rgb_to_gray(rgb.x:float()) end, "expected uint8 RGB images [..., 3, H, W], got float32")
    -- gray datasets stay as they are
    local mn = F.pattern({2, 28, 28})
    write_mnist(root, "mnist", "train", mn, {1, 2})
    T.eq(loupe.data.mnist{root = root, grayscale = true}.x:dtype(), "uint8")
  end)
end

function tests.cifar100_fine_and_coarse()
  in_tmp(function(root)
    local dir = root .. "/cifar-100-binary"
    F.mkdir(dir)
    local imgs = F.pattern({3, 3, 32, 32})
    F.write(dir .. "/train.bin", F.cifar({{19, 99}, {0, 0}, {4, 55}}, imgs))
    local fine, coarse = {}, {}
    for i = 1, 100 do fine[i] = "f" .. i end
    for i = 1, 20 do coarse[i] = "c" .. i end
    F.write(dir .. "/fine_label_names.txt", table.concat(fine, "\n") .. "\n")
    F.write(dir .. "/coarse_label_names.txt", table.concat(coarse, "\n") .. "\n")
    local ds = loupe.data.cifar100{root = root}
    T.eq(table.concat(ds.y:totable(), ","), "100,1,56")
    T.eq(#ds.classes, 100)
    T.truthy(ds.x:equal(imgs), "pixels")
    local c = loupe.data.cifar100{root = root, fine = false}
    T.eq(table.concat(c.y:totable(), ","), "20,1,5")
    T.eq(c.classes[20], "c20")
    T.raises(function() loupe.data.cifar100{root = root, split = "test"} end,
             "cifar100: test.bin not found in " .. dir .. " — run: datasets/fetch cifar100 " .. root)
  end)
end

function tests.cifar_bad_files()
  in_tmp(function(root)
    write_cifar10(root, 2)
    local dir = root .. "/cifar-10-batches-bin"
    local good = F.read(dir .. "/data_batch_3.bin")
    F.write(dir .. "/data_batch_3.bin", good:sub(1, -2))
    T.raises(function() loupe.data.cifar10{root = root} end,
             "'" .. dir .. "/data_batch_3.bin' holds 6145 bytes, not a whole number of 3073-byte records")
    F.write(dir .. "/data_batch_3.bin", good:sub(1, 3073) .. "\10" .. good:sub(3075))
    T.raises(function() loupe.data.cifar10{root = root} end,
             "'" .. dir .. "/data_batch_3.bin' record 2 (offset 3073): label 10 is not in 0..9")
    F.write(dir .. "/data_batch_3.bin", "")
    T.raises(function() loupe.data.cifar10{root = root} end, "holds 0 bytes")
    os.remove(dir .. "/data_batch_3.bin")
    T.raises(function() loupe.data.cifar10{root = root} end,
             "cifar10: data_batch_3.bin not found in " .. dir .. " — run: datasets/fetch cifar10")
    os.remove(dir .. "/batches.meta.txt")
    T.raises(function() loupe.data.cifar10{root = root, split = "test"} end, "batches.meta.txt not found")
    F.write(dir .. "/batches.meta.txt", "a\nb\n")
    T.raises(function() loupe.data.cifar10{root = root, split = "test"} end, "batches.meta.txt' names 2 classes, expected 10")
    T.raises(function() D.read_cifar({}) end, "expected a path or a non-empty list of paths")
    T.raises(function() D.read_cifar(dir .. "/test_batch.bin", {label_bytes = 3}) end, "label_bytes must be 1 or 2")
  end)
end

-- ---- MATLAB v5 ----

-- An SVHN-like file: X uint8 [H, W, 3, N] (from x [N, 3, H, W]) and y doubles [N, 1].
local function svhn_mat(W, x, y, opts)
  opts = opts or {}
  local n, h, w = x:size(1), x:size(3), x:size(4)
  local X = W.matrix("X", {class = F.mx.uint8, dims = {h, w, 3, n}, mi = F.mi.uint8,
                           data = F.column_major(x)})
  local Y = W.matrix("y", {class = F.mx.double, dims = {#y, 1}, mi = F.mi.double,
                           data = W.values(F.mi.double, y)})
  if opts.compress then X, Y = W.compressed(X), W.compressed(Y) end
  return W.header() .. (opts.before or "") .. X .. Y
end

function tests.mat_svhn_layout_and_labels()
  in_tmp(function(root)
    F.mkdir(root .. "/svhn")
    local x = F.pattern({4, 3, 5, 6})
    local y = {10, 1, 3, 10}
    local W = F.mat_writer("<")
    -- a cell array and a char array before X, which the reader skips
    local cell = W.matrix("c", {class = F.mx.cell, dims = {1, 1}, data_element = ""})
    local chr = W.matrix("note", {class = F.mx.char, dims = {1, 2}, mi = F.mi.uint16, data = W.values(F.mi.uint16, {104, 105})})
    for _, compress in ipairs({false, true}) do
      local p = root .. "/svhn/train_32x32.mat"
      F.write(p, svhn_mat(W, x, y, {compress = compress, before = cell .. chr}))
      local vars = D.read_mat(p, {"X", "y"})
      T.eq(shape(vars.X), "4,3,6,5", "dims reversed")
      T.eq(shape(vars.y), "1,4")
      T.eq(vars.y:dtype(), "float32")
      local ds = loupe.data.svhn{root = root}
      T.eq(shape(ds.x), "4,3,5,6")
      T.truthy(ds.x:equal(x), "column-major X becomes [N, 3, H, W]")
      T.eq(table.concat(ds.y:totable(), ","), "1,2,4,1", "digit d has label d + 1, the file's 10 is 0")
      T.eq(ds.classes[1], "0")
      local g = loupe.data.svhn{root = root, grayscale = true, labels = {1}}
      T.eq(shape(g.x), "2,1,5,6")
    end
    T.raises(function() loupe.data.svhn{root = root, split = "extra"} end,
             "svhn: extra_32x32.mat not found in " .. root .. "/svhn — run: datasets/fetch svhn-extra " .. root)
  end)
end

function tests.mat_types_byte_orders_and_small_elements()
  in_tmp(function(dir)
    for _, order in ipairs({"<", ">"}) do
      local W = F.mat_writer(order)
      local p = dir .. "/t.mat"
      F.write(p, W.header()
        -- a double array stored as uint8, as MATLAB does for small integers
        .. W.matrix("d", {class = F.mx.double, dims = {2, 3}, mi = F.mi.uint8, data = "\1\2\3\4\5\6"})
        .. W.compressed(W.matrix("i", {class = F.mx.int16, dims = {1, 3}, mi = F.mi.int16, data = W.values(F.mi.int16, {-5, 300, 7})}))
        .. W.matrix("s", {class = F.mx.single, dims = {1, 1}, mi = F.mi.single, data = W.values(F.mi.single, {2.5}), small_data = true})
        .. W.matrix("u", {class = F.mx.uint8, dims = {1, 2}, mi = F.mi.uint8, data = "\9\8", small_data = true})
        .. W.matrix("long_name", {class = F.mx.int64, dims = {1, 1}, mi = F.mi.int64, data = W.values(F.mi.int64, {-(1 << 40)})})
        .. W.matrix("u", {class = F.mx.uint8, dims = {1, 1}, mi = F.mi.uint8, data = "\7"}))
      local v = D.read_mat(p, {"d", "i", "s", "u", "long_name"})
      T.eq(shape(v.d), "3,2", order)
      -- stored by column 1..6: row j of the result is MATLAB's column j, d(1,1) and d(2,1)
      T.eq(table.concat(v.d:totable()[1], ","), "1.0,2.0", order .. " column-major")
      T.eq(v.i:dtype(), "int64")
      T.eq(table.concat(v.i:view(3):totable(), ","), "-5,300,7", order)
      T.close(v.s:view(1), {2.5}, 0, order)
      T.eq(v.u:view(1):item(), 7, "a later variable of the same name wins")
      T.eq(v.long_name:view(1):item(), -(1 << 40), order)
    end
  end)
end

function tests.mat_bad_files()
  in_tmp(function(dir)
    local W = F.mat_writer("<")
    local x = F.pattern({2, 3, 4, 4})
    local good = svhn_mat(W, x, {1, 2})
    local goodz = svhn_mat(W, x, {1, 2}, {compress = true})
    local p = dir .. "/f.mat"
    local function bad(bytes, pattern, names)
      F.write(p, bytes)
      T.raises(function() D.read_mat(p, names or {"X", "y"}) end, pattern)
      T.raises(function() D.read_mat(p, names or {"X", "y"}) end, p)
    end
    -- SVHN's own error: the file and the missing variable
    F.mkdir(dir .. "/svhn")
    F.write(dir .. "/svhn/test_32x32.mat", W.header() .. W.matrix("X", {class = F.mx.uint8, dims = {4, 4, 3, 2}, mi = F.mi.uint8, data = F.column_major(x)}))
    T.raises(function() loupe.data.svhn{root = dir, split = "test"} end,
             "read_mat: '" .. dir .. "/svhn/test_32x32.mat' has no variable 'y' (it holds: X)")
    bad(W.header(), "has no variable 'X' (it holds: nothing)")
    bad(good:sub(1, 100), "is too short for a MAT file (100 bytes")
    bad(("x"):rep(200), "is not a MATLAB 5 MAT file (no endian indicator at offset 126")
    bad(W.header(0x0200) .. "HDF", "is a MATLAB 7.3 (HDF5) MAT file")
    bad(good:sub(1, -9), "is truncated: the element at offset")
    bad(good:sub(1, 128 + 3), "is truncated: 3 stray bytes at offset 128")
    bad(goodz:sub(1, -5), "is truncated: the element at offset")
    -- damaged deflate data and a damaged Adler-32 in the first compressed element
    local zlen = string.unpack("<I4", goodz, 133)
    local mid = 137 + zlen // 2
    bad(goodz:sub(1, mid - 1) .. string.char(goodz:byte(mid) ~ 0xff) .. goodz:sub(mid + 1), "corrupt compressed data")
    local last = 136 + zlen
    bad(goodz:sub(1, last - 1) .. string.char(goodz:byte(last) ~ 1) .. goodz:sub(last + 1), "incorrect data check")
    -- a compressed element that claims an absurd inflated size, refused before allocating
    local inner = string.pack("<I4I4", F.mi.matrix, 0xfffffff0)
    bad(W.header() .. W.compressed(inner), "claims an array of 4294967280 bytes, more than its")
    -- a compressed stream that ends inside the array it declares
    local X = W.matrix("X", {class = F.mx.uint8, dims = {4, 4, 3, 2}, mi = F.mi.uint8, data = F.column_major(x)})
    bad(W.header() .. W.compressed(X:sub(1, -40)), "ends after")
    -- dimensions that do not match the data, including absurd ones
    bad(W.header() .. W.matrix("X", {class = F.mx.uint8, dims = {4, 4, 3, 3}, mi = F.mi.uint8, data = F.column_major(x)}),
        "variable 'X' in '" .. p .. "': dimensions [4,4,3,3] of uint8 need 144 bytes of data, but its data element at offset")
    bad(W.header() .. W.matrix("X", {class = F.mx.uint8, dims = {2147483647, 2147483647, 2147483647, 2147483647}, mi = F.mi.uint8, data = "abc"}),
        "need over 2^63 bytes of data")
    bad(W.header() .. W.matrix("X", {class = F.mx.uint8, dims = {-1, 2}, mi = F.mi.uint8, data = "ab"}), "variable 'X' in '" .. p .. "' has invalid dimensions")
    -- a sub-element that claims more than its array holds
    local flags = W.element(F.mi.uint32, string.pack("<I4I4", F.mx.uint8, 0))
    bad(W.header() .. W.element(F.mi.matrix, flags .. string.pack("<I4I4", F.mi.int32, 4096)),
        "the dimensions of an array at offset 152 claim 4096 bytes, but only 0 remain in the array")
    -- requested variables of the wrong kind
    bad(W.header() .. W.matrix("X", {class = F.mx.cell, dims = {1, 1}, data_element = ""}), "variable 'X' in '" .. p .. "' is a cell array, not a numeric array")
    bad(W.header() .. W.matrix("X", {class = F.mx.double, flags = 0x800, dims = {1, 1}, mi = F.mi.double, data = W.values(F.mi.double, {1})}),
        "variable 'X' in '" .. p .. "' is complex")
    bad(W.header() .. W.matrix("X", {class = F.mx.uint8, dims = {1, 1}, mi = F.mi.double, data = W.values(F.mi.double, {300})}),
        "variable 'X' in '" .. p .. "': element 1 (300, stored as double) does not fit its class uint8")
    bad(W.header() .. W.matrix("X", {class = F.mx.int32, dims = {1, 1}, mi = F.mi.double, data = W.values(F.mi.double, {0.5})}),
        "does not fit its class int32")
    bad(W.header() .. W.matrix("X", {class = F.mx.uint8, dims = {1, 1}, mi = 8, data = "\0\0\0\0\0\0\0\0"}), "not a numeric type")
    -- svhn: labels outside 1..10, X of the wrong shape
    F.write(dir .. "/svhn/test_32x32.mat", svhn_mat(W, x, {0, 2}))
    T.raises(function() loupe.data.svhn{root = dir, split = "test"} end, "svhn: y in '" .. dir .. "/svhn/test_32x32.mat': entry 1 is 0, expected an integer in 1..10")
    F.write(dir .. "/svhn/test_32x32.mat", svhn_mat(W, x, {1, 2, 3}))
    T.raises(function() loupe.data.svhn{root = dir, split = "test"} end, "holds 2 images in X but 3 labels in y")
  end)
end

-- ---- image folders ----

-- Saves uint8 [3, H, W] as a PNG.
local function png(path, img) loupe.image.save(img, path) end

function tests.image_folder_layout_order_and_pixels()
  in_tmp(function(root)
    local imgs = {}
    for i = 1, 5 do imgs[i] = F.pattern({3, 6, 7}, i * 11) end
    F.mkdir(root .. "/dog/sub")
    F.mkdir(root .. "/cat")
    F.mkdir(root .. "/.ipynb_checkpoints")
    png(root .. "/dog/b.png", imgs[1])
    png(root .. "/dog/A.PNG", imgs[2])
    png(root .. "/dog/sub/a.png", imgs[3])
    png(root .. "/cat/z.png", imgs[4])
    png(root .. "/cat/.hidden.png", imgs[5])
    F.write(root .. "/cat/notes.txt", "not an image")
    png(root .. "/.ipynb_checkpoints/x.png", imgs[5])
    local ds = loupe.data.image_folder{root = root}
    T.eq(table.concat(ds.classes, ","), "cat,dog")
    T.eq(#ds, 4)
    T.eq(table.concat(ds.y:totable(), ","), "1,2,2,2")
    -- ImageFolder's order: sorted folders, then files sorted within each ("A.PNG" < "b.png")
    T.eq(ds.paths[2], root .. "/dog/A.PNG")
    T.eq(ds.paths[4], root .. "/dog/sub/a.png")
    T.eq(shape(ds.x), "4,3,6,7")
    T.eq(ds.x:dtype(), "uint8")
    for i, k in ipairs({4, 2, 1, 3}) do T.truthy(ds.x[i]:equal(imgs[k]), "pixels of " .. ds.paths[i]) end
    T.truthy(D.read_images(root .. "/cat/z.png")[1]:equal(imgs[4]), "read_images without options")
    local dogs = loupe.data.image_folder{root = root, labels = {"dog"}, grayscale = true}
    T.eq(#dogs, 3)
    T.eq(dogs.paths[1], root .. "/dog/A.PNG")
    T.eq(dogs.x:dtype(), "float32")
    T.eq(shape(dogs.x), "3,1,6,7")
  end)
end

function tests.image_folder_splits_sizes_and_jpeg()
  in_tmp(function(root)
    F.mkdir(root .. "/train/cat")
    F.mkdir(root .. "/train/dog")
    F.mkdir(root .. "/valid/dog")
    png(root .. "/train/cat/1.png", F.pattern({3, 8, 8}, 1))
    png(root .. "/train/dog/1.png", F.pattern({3, 16, 12}, 2))
    local jpg = F.read("tests/fixtures/images/rgb.jpg")
    F.write(root .. "/valid/dog/1.jpg", jpg)
    local valid = loupe.data.image_folder{root = root, split = "valid"}
    T.eq(table.concat(valid.classes, ","), "cat,dog", "classes from every split")
    T.eq(table.concat(valid.y:totable(), ","), "2")
    local want = loupe.image.load("tests/fixtures/images/rgb.jpg"):mul(255):add(0.5):clamp(0, 255):byte()
    T.truthy(valid.x[1]:equal(want), "JPEG decoded as loupe.image.load")
    T.raises(function() loupe.data.image_folder{root = root, split = "train"} end,
             "read_images: '" .. root .. "/train/dog/1.png' is 16x12 (HxW), the first image is 8x8; pass size = {h, w}")
    local train = loupe.data.image_folder{root = root, split = "train", size = {4, 6}}
    T.eq(shape(train.x), "2,3,4,6")
    local src = loupe.image.load(root .. "/train/dog/1.png"):unsqueeze(1)
    local r = loupe.interpolate(src, {4, 6}, {antialias = true})[1]
    T.truthy(train.x[2]:equal(r:mul(255):add(0.5):clamp(0, 255):byte()), "antialiased resize, rounded")
    local sq = loupe.data.image_folder{root = root, split = "train", size = 5, classes = {"dog"}}
    T.eq(shape(sq.x), "1,3,5,5")
    T.eq(table.concat(sq.classes, ","), "dog")
  end)
end

function tests.image_folder_errors()
  in_tmp(function(root)
    T.raises(function() loupe.data.image_folder{} end, "image_folder: root = \"folder\" is required")
    T.raises(function() loupe.data.image_folder{root = root .. "/none"} end, "cannot open folder '" .. root .. "/none'")
    T.raises(function() loupe.data.image_folder{root = root} end, "no class folders in '" .. root .. "'")
    F.mkdir(root .. "/a")
    T.raises(function() loupe.data.image_folder{root = root} end, "no .png, .jpg or .jpeg files")
    png(root .. "/a/1.png", F.pattern({3, 4, 4}))
    F.write(root .. "/a/2.png", "\137PNG\r\n\26\n garbage")
    T.raises(function() loupe.data.image_folder{root = root} end, "'" .. root .. "/a/2.png'")
    F.write(root .. "/a/2.png", F.read(root .. "/a/1.png"):sub(1, 40))
    T.raises(function() loupe.data.image_folder{root = root} end, "PNG file '" .. root .. "/a/2.png' is truncated")
    F.write(root .. "/a/2.png", "plain text")
    T.raises(function() loupe.data.image_folder{root = root} end, "'" .. root .. "/a/2.png' is not a PNG or JPEG file")
    os.remove(root .. "/a/2.png")
    F.write(root .. "/a/3.BMP", "BM")
    T.raises(function() loupe.data.image_folder{root = root} end, "'" .. root .. "/a/3.BMP' is a .bmp file; loupe reads PNG and JPEG only")
    os.remove(root .. "/a/3.BMP")
    T.raises(function() loupe.data.image_folder{root = root, size = {0, 3}} end, "size must be a positive integer or {h, w}")
    T.raises(function() loupe.data.image_folder{root = root, classes = "a"} end, "classes must be a non-empty list")
    T.eq(#loupe.data.image_folder{root = root}, 1)
  end)
end

-- ---- dataset objects ----

function tests.dataset_from_tensors_and_loader()
  local ds = loupe.data.dataset{x = F.pattern({6, 1, 2, 2}), y = loupe.tensor({1, 2, 3, 1, 2, 3}, "int64"), name = "toy"}
  T.eq(#ds, 6)
  T.eq(table.concat(ds.classes, ","), "1,2,3")
  local n, seen = 0, 0
  for x, y in ds:loader{batch_size = 4} do
    n = n + 1
    seen = seen + y:size(1)
    T.eq(x:dtype(), "float32")
    T.truthy(x:max():item() <= 1, "scaled to [0, 1]")
  end
  T.eq(n, 2)
  T.eq(seen, 6)
  ds.y = loupe.tensor({2, 2, 2, 2, 2, 2}, "int64") -- scripts may relabel
  T.eq(ds[1].y, 2)
  T.raises(function() loupe.data.dataset{x = F.pattern({6, 4}), y = loupe.tensor({1, 2}, "int64")} end, "y must be int64 labels [6]")
  T.raises(function() loupe.data.dataset{x = {}, y = {}} end, "x must be a uint8 or float32 tensor")
  T.raises(function() D.select_labels(loupe.tensor({1.0}), {1}) end, "expected int64 labels [N]")
  T.raises(function() D.to_labels(loupe.zeros(2, 2), 1, 10) end, "expected a vector of labels")
end

-- ---- damaged files: errors, never crashes (most telling under make SANITIZE=1 test) ----

-- Deterministic mutations of good files of each format: random bytes changed, the file cut
-- short, a byte bumped and another set to 255. Each read must either succeed or raise.
function tests.mutated_files_never_crash()
  in_tmp(function(dir)
    local W = F.mat_writer("<")
    local x = F.pattern({2, 3, 4, 4})
    local files = {
      mat = W.header() .. W.compressed(W.matrix("X", {class = F.mx.uint8, dims = {4, 4, 3, 2}, mi = F.mi.uint8, data = F.column_major(x)}))
        .. W.matrix("y", {class = F.mx.double, dims = {2, 1}, mi = F.mi.uint8, data = "\10\3"})
        .. W.matrix("s", {class = F.mx.single, dims = {1, 1}, mi = F.mi.single, data = W.values(F.mi.single, {2.5}), small_data = true}),
      idx = F.idx_u8(F.pattern({3, 4, 5})),
      gz = F.gzip(F.idx_u8(F.pattern({3, 4, 5}))),
      cifar = F.cifar({{1}, {2}}, F.pattern({2, 3, 32, 32})),
    }
    local read = {
      mat = function(p) return D.read_mat(p, {"X", "y", "s"}) end,
      idx = D.read_idx, gz = D.read_idx,
      cifar = function(p) return D.read_cifar(p) end,
    }
    local state = 12345
    local function rnd(n) state = (state * 1103515245 + 12345) % 2147483648; return state % n + 1 end
    local p = dir .. "/f"
    for _, kind in ipairs({"mat", "idx", "gz", "cifar"}) do
      local good = files[kind]
      F.write(p, good)
      T.truthy(pcall(read[kind], p), kind .. " unmutated")
      local failed = 0
      for _ = 1, 150 do
        local b = {good:byte(1, -1)}
        local op = rnd(3)
        if op == 1 then
          for _ = 1, rnd(4) do b[rnd(#b)] = rnd(256) - 1 end
        elseif op == 2 then
          for i = #b, rnd(#b), -1 do b[i] = nil end
        else
          local i = rnd(#b)
          b[i] = (b[i] + 1) % 256
          b[rnd(#b)] = 255
        end
        local parts = {}
        for i = 1, #b, 4000 do parts[#parts + 1] = string.char(table.unpack(b, i, math.min(i + 3999, #b))) end
        F.write(p, table.concat(parts))
        local ok, err = pcall(read[kind], p)
        if not ok then
          failed = failed + 1
          T.truthy(tostring(err):find(p, 1, true), "the error names the file: " .. tostring(err))
        end
      end
      T.truthy(failed > 0, kind .. ": some mutations must be refused")
    end
  end)
end

-- ---- the real datasets, when fetched ----

local function fetched(sub)
  local f = io.open("datasets/" .. sub .. "/train-labels-idx1-ubyte", "rb")
    or io.open("datasets/" .. sub .. "/train-labels-idx1-ubyte.gz", "rb")
  if f then f:close() end
  return f ~= nil
end

local function counts(y, k)
  local c = {}
  for i = 1, k do c[i] = math.tointeger(y:eq(i):float():sum():item()) end
  return table.concat(c, ",")
end

function tests.real_mnist()
  if not fetched("mnist") then print("SKIP real mnist: not fetched (datasets/fetch mnist)") return end
  local train = loupe.data.mnist{root = "datasets"}
  local test = loupe.data.mnist{root = "datasets", split = "test"}
  T.eq(shape(train.x), "60000,1,28,28")
  T.eq(shape(test.x), "10000,1,28,28")
  T.eq(table.concat(train.y:narrow(1, 1, 10):totable(), ","), "6,1,5,2,10,3,2,4,2,5") -- 5 0 4 1 9 2 1 3 1 4
  T.eq(counts(train.y, 10), "5923,6742,5958,6131,5842,5421,5918,6265,5851,5949")
  T.eq(counts(test.y, 10), "980,1135,1032,1010,982,892,958,1028,974,1009")
  T.eq(math.tointeger(train.x[1]:float():sum():item()), 27525)
end

function tests.real_fashion_mnist()
  if not fetched("fashion-mnist") then
    print("SKIP real fashion-mnist: not fetched (datasets/fetch fashion-mnist)")
    return
  end
  local train = loupe.data.fashion_mnist{root = "datasets"}
  local test = loupe.data.fashion_mnist{root = "datasets", split = "test"}
  T.eq(shape(train.x), "60000,1,28,28")
  T.eq(#test, 10000)
  T.eq(table.concat(train.y:narrow(1, 1, 10):totable(), ","), "10,1,1,4,1,3,8,3,6,6") -- 9 0 0 3 0 2 7 2 5 5
  T.eq(counts(train.y, 10), "6000,6000,6000,6000,6000,6000,6000,6000,6000,6000")
  T.eq(counts(test.y, 10), "1000,1000,1000,1000,1000,1000,1000,1000,1000,1000")
end

return tests
