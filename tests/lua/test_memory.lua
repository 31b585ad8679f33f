-- test_memory.lua — memory stays bounded in long Lua loops (DESIGN: "Lua's GC must learn
-- about tensor memory"): 10,000 iterations that create and drop 1 MB tensors, with and
-- without autograd, stay within 200 MB of the starting resident size.
--
-- Each loop runs in a child `loupe` (the host from $LOUPE, default ./loupe) so the resident
-- size it reads from /proc/self/status belongs to that loop alone. The two children run at
-- the same time, one thread each, to keep the test a few seconds long.
local loupe = require "loupe"
local T = require "testlib"
local eq, truthy = T.eq, T.truthy

local tests = {}

local HOST = os.getenv("LOUPE") or "./loupe"
local SANITIZE = os.getenv("SANITIZE") == "1"
local LIMIT_MB = 200

local CHILD = [=[
local loupe = require "loupe"
local mode, iters = arg[1], tonumber(arg[2])
local function rss()
  local f = assert(io.open("/proc/self/status"))
  local s = f:read("a")
  f:close()
  return tonumber(s:match("VmRSS:%s*(%d+)")) * 1024
end
local N = 262144 -- float32 elements: 1 MB
local G = loupe.ones(N)
local step
if mode == "plain" then
  step = function()
    local x = loupe.ones(N)
    local y = x * 2 + 1
    return y
  end
elseif mode == "autograd" then
  step = function()
    local x = loupe.ones(N):requires_grad_()
    local y = x * 2 + 1
    y:backward(G)
    return x.grad
  end
end
for _ = 1, 100 do step() end -- warm up (thread pools, allocator caches)
collectgarbage()
local base, peak = rss(), 0
for i = 1, iters do
  step()
  if i % 100 == 0 then
    local r = rss()
    if r > peak then peak = r end
  end
end
io.write(("RESULT %s growth_mb=%.1f base_mb=%.1f peak_mb=%.1f\n"):format(
  mode, (peak - base) / 1e6, base / 1e6, peak / 1e6))
]=]

local function write_child()
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(CHILD)
  f:close()
  return path
end

-- Starts every mode at once, then collects each child's output and exit status.
local function run_children(modes, iters)
  local path = write_child()
  local pipes = {}
  for _, mode in ipairs(modes) do
    pipes[mode] = assert(io.popen(("LOUPE_THREADS=1 %s %s %s %d 2>&1"):format(
      HOST, path, mode, iters)))
  end
  local results = {}
  for _, mode in ipairs(modes) do
    local out = pipes[mode]:read("a")
    local ok, how, code = pipes[mode]:close()
    results[mode] = {out = out, ok = ok, how = how, code = code}
  end
  os.remove(path)
  return results
end

function tests.loops_of_1mb_tensors_stay_within_200mb()
  -- Under AddressSanitizer freed memory sits in a quarantine (256 MB by default), so the
  -- resident size says nothing there: run a shorter loop and rely on LeakSanitizer instead.
  local iters = SANITIZE and 1000 or 10000
  local modes = {"plain", "autograd"}
  local results = run_children(modes, iters)
  for _, mode in ipairs(modes) do
    local r = results[mode]
    if not r.ok then
      error(("%s loop: child ended with %s %s:\n%s"):format(mode, tostring(r.how),
        tostring(r.code), r.out:sub(-2000)))
    end
    local growth = tonumber(r.out:match("RESULT " .. mode .. " growth_mb=([%d.%-]+)"))
    truthy(growth, ("%s loop printed no result:\n%s"):format(mode, r.out))
    if os.getenv("VERBOSE") then io.write(r.out) end
    if not SANITIZE and growth > LIMIT_MB then
      error(("%s loop: resident size grew by %.1f MB over %d iterations (limit %d MB): %s")
        :format(mode, growth, iters, LIMIT_MB, r.out))
    end
  end
end

-- In-process: the core's own accounting returns to where it was once the garbage is collected
-- (no tensor memory is leaked by boxes, views, graphs or failed operations).
function tests.core_accounting_returns_to_baseline()
  collectgarbage()
  collectgarbage()
  local before = loupe.memory_allocated()
  do
    local x = loupe.randn(256, 256):requires_grad_()
    for _ = 1, 50 do
      local y = (x:t():mm(x) * 0.5):tanh():sum()
      y:backward()
      local v = x:view(-1):narrow(1, 1, 100)
      local s = x[{{1, 10}, {}}]:clone()
      pcall(function() return x:mm(loupe.ones(3, 3)) end) -- failing ops free their temporaries
      pcall(function() return loupe.zeros(1e12, 1e12) end)
      pcall(function() return loupe.cat{x, loupe.ones(2, 2)} end)
      -- argument errors raised after a tensor argument was taken must not keep it alive
      local plain = x:detach()
      pcall(function() return plain:add(plain, "not a number") end)
      pcall(function() return plain:add_(plain, "not a number") end)
      pcall(function() return loupe.where(plain:gt(0), plain, "not a tensor") end)
      pcall(function() return loupe.where(plain:gt(0), 1, {}) end)
    end
    local t = loupe.ones(1000)
    t:free()
  end
  collectgarbage()
  collectgarbage()
  eq(loupe.memory_allocated(), before, "bytes held by tensors after collection")
end

-- The collector runs because of tensor memory, not Lua memory: a loop that allocates 4 GB
-- in 4 MB tensors keeps the core's live bytes bounded (at most about twice the 64 MB
-- collection threshold).
function tests.gc_is_driven_by_tensor_bytes()
  collectgarbage()
  local base, peak = loupe.memory_allocated(), 0
  for _ = 1, 1000 do
    local x = loupe.zeros(1024 * 1024)
    local live = loupe.memory_allocated() - base
    if live > peak then peak = live end
  end
  truthy(peak < 256e6, ("live tensor bytes peaked at %.0f MB"):format(peak / 1e6))
end

return tests
