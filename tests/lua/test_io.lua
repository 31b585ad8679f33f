-- loupe.save / loupe.load: round trips, metadata, atomic writes and malformed files.
local loupe = require "loupe"
local t = require "testlib"
local T = {}

local function tmpname()
  local name = os.tmpname()
  os.remove(name)
  return name .. ".safetensors"
end

function T.round_trip_every_dtype()
  local path = tmpname()
  local src = {
    f = loupe.randn(3, 4),
    i = loupe.tensor({{1, -2}, {3, 2^40}}, "int64"),
    u = loupe.tensor({0, 7, 255}, "uint8"),
    view = loupe.randn(4, 5):t(), -- non-contiguous
    scalar = loupe.tensor(2.5),
  }
  loupe.save(path, src, {epoch = "3"})
  local back, meta = loupe.load(path)
  os.remove(path)
  for name, x in pairs(src) do
    t.truthy(back[name], "missing " .. name)
    t.eq(back[name]:dtype(), x:dtype(), name .. " dtype")
    t.truthy(back[name]:equal(x), name .. " values")
  end
  t.eq(meta.epoch, "3")
end

function T.real_weights_load()
  local w = loupe.load("datasets/weights/squeezenet1_1.safetensors")
  local n, params = 0, 0
  for _, x in pairs(w) do n = n + 1; params = params + x:numel() end
  t.eq(n, 52)
  t.eq(params, 1235496)
  t.eq(table.concat(w["features.0.weight"]:shape(), ","), "64,3,3,3")
end

function T.overwrite_is_atomic_and_leaves_no_temporaries()
  local dir = os.tmpname(); os.remove(dir); os.execute("mkdir " .. dir)
  local path = dir .. "/w.safetensors"
  loupe.save(path, {a = loupe.ones(2)})
  loupe.save(path, {a = loupe.zeros(3)})
  t.eq(loupe.load(path).a:numel(), 3)
  local p = io.popen("ls " .. dir); local files = p:read("a"); p:close()
  t.eq(files, "w.safetensors\n")
  os.execute("rm -r " .. dir)
end

function T.truncated_file_is_an_error_naming_it()
  local path = tmpname()
  local f = io.open(path, "wb"); f:write("\16\0\0"); f:close()
  t.raises(function() loupe.load(path) end, "safetensors: truncated header in file '" .. path .. "'")
  os.remove(path)
end

function T.missing_file_names_the_path()
  t.raises(function() loupe.load("/nonexistent/w.safetensors") end, "/nonexistent/w.safetensors")
end

function T.save_rejects_non_tensors()
  t.raises(function() loupe.save(tmpname(), {a = 1}) end, "'a'")
end

return T
