-- data_read.lua — reading the 60,000 MNIST training images (and their labels) into a dataset:
-- loupe.data.mnist{split = "train"}, file to uint8 [60000,1,28,28] with checked labels. The
-- target is < 0.5 s. Also Fashion-MNIST's training set, whose files are gzip-compressed (as
-- Debian ships them), to show what decompression costs. Wall-clock time (loupe.clock), the
-- median of 5 runs after one warm-up (files in the page cache).
--
-- Skips a dataset, with a message, when datasets/fetch has not put it under $LOUPE_DATA (or
-- ./datasets). Usage: ./loupe tests/bench/data_read.lua
local loupe = require "loupe"

local RUNS = 5
local TARGET = 0.5

local function median(t)
  table.sort(t)
  return t[(#t + 1) // 2]
end

local function bench(label, fn)
  local ok, err = pcall(fn)
  if not ok then
    local msg = tostring(err):gsub("^[^:]*:%d+: ", "") -- without a file:line: prefix
    print(("data read: %-36s SKIP (%s)"):format(label, msg))
    return
  end
  local times = {}
  for i = 1, RUNS do
    collectgarbage()
    local t0 = loupe.clock()
    local ds = fn()
    times[i] = loupe.clock() - t0
    assert(#ds == 60000)
  end
  local t = median(times)
  print(("data read: %-36s %6.3f s  (%.0f MB/s of pixels; target < %.1f s%s)"):format(label, t,
    60000 * 784 / t / 1e6, TARGET, t < TARGET and "" or ", MISSED"))
end

bench("mnist train (60000, raw IDX)", function() return loupe.data.mnist{split = "train"} end)
bench("fashion_mnist train (60000, IDX .gz)", function()
  return loupe.data.fashion_mnist{split = "train"}
end)
