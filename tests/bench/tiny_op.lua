-- tiny_op.lua — the fixed cost of one op called from Lua on 1-element tensors: argument
-- checks, broadcasting set-up, allocation of the result, boxing, and its share of garbage
-- collection. Small models spend much of a step in such calls, so the target is < 1 µs.
--
-- Each measurement is the median over BATCHES batches of N calls, in µs per call. The clock
-- is os.clock (process CPU time; Lua has no monotonic wall clock): for a single-threaded loop
-- of tiny ops it equals wall time, unless pool threads spin in the background, and then the
-- extra CPU time shows up here, which is what we want to see.
--
-- Usage: ./loupe tests/bench/tiny_op.lua [--quick]
local loupe = require "loupe"

local quick = arg and arg[1] == "--quick"
local N, BATCHES = 100000, quick and 3 or 15

local function median(t)
  table.sort(t)
  local n = #t
  return n % 2 == 1 and t[(n + 1) // 2] or 0.5 * (t[n // 2] + t[n // 2 + 1])
end

-- f(n) runs the op n times; returns the median µs per call.
local function measure(f)
  f(N // 10) -- warm-up: caches, allocator, GC steady state
  local times = {}
  for i = 1, BATCHES do
    collectgarbage("step")
    local t0 = os.clock()
    f(N)
    times[i] = (os.clock() - t0) / N * 1e6
  end
  return median(times)
end

local function report(label, us, target)
  local flag = ""
  if target and us >= target then flag = ("   [above the %g us target]"):format(target) end
  print(("tiny op: %-34s %7.3f us/call  (median of %d batches of %d)%s"):format(
    label, us, BATCHES, N, flag))
end

local a, b = loupe.tensor({1}), loupe.tensor({2})
local s0, s1 = a:view({}), b:view({}) -- 0-d

print(("== tiny_op: one op on 1-element tensors, called from Lua (%s)"):format(_VERSION))
report("baseline: Lua call math.max(1, 2)", measure(function(n)
  local m = math.max
  for _ = 1, n do m(1, 2) end
end))
report("a + b  (1-element, __add)", measure(function(n)
  local c
  for _ = 1, n do c = a + b end
  return c
end), 1)
report("a:add(b)", measure(function(n)
  local c
  for _ = 1, n do c = a:add(b) end
  return c
end), 1)
report("a * 2  (tensor and number)", measure(function(n)
  local c
  for _ = 1, n do c = a * 2 end
  return c
end), 1)
report("s0 + s1  (0-d tensors)", measure(function(n)
  local c
  for _ = 1, n do c = s0 + s1 end
  return c
end), 1)
