-- test_misuse.lua — misuse from Lua: every public function called with bad arguments returns or
-- raises a Lua error, never crashes or hangs (the battery: misuse_battery.lua, run in child
-- processes, one per group, in parallel), and the bugs the battery found stay fixed
-- (regression tests below, in this process). `make valgrind` runs the same battery under
-- valgrind's memcheck.
local loupe = require "loupe"
local T = require "testlib"
local eq, raises, truthy = T.eq, T.raises, T.truthy

local tests = {}

local function sh(cmd)
  local p = io.popen(cmd)
  local out = p:read("a")
  p:close()
  return out
end

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return "" end
  local s = f:read("a")
  f:close()
  return s
end

local function last_line(s) return s:gsub("\n+$", ""):match("[^\n]*$") end

-- ---- the battery ----

function tests.battery_every_public_function()
  local cwd = sh("pwd"):gsub("\n$", "")
  local host = os.getenv("LOUPE") or "./loupe"
  if host:sub(1, 1) ~= "/" then host = cwd .. "/" .. host end
  local battery = cwd .. "/tests/lua/misuse_battery.lua"
  local sanitized = os.getenv("SANITIZE") == "1"
  local groups = sh(q(host) .. " " .. q(battery) .. " groups"):gsub("\n$", "")
  truthy(#groups > 0, "the battery lists its groups")
  -- a scratch folder on tmpfs where there is one: file-writing calls fsync
  local scratch = sh("mktemp -d -p /dev/shm 2>/dev/null || mktemp -d"):gsub("\n$", "")
  truthy(scratch ~= "", "a scratch folder")
  assert(os.execute("mkdir " .. q(scratch .. "/empty")))
  local nproc = tonumber(sh("nproc 2>/dev/null")) or 2
  -- plain runs get an address-space cap, so a call that makes memory grow without bound
  -- fails there instead of pushing the machine into swap (the sanitizers reserve terabytes
  -- of address space, so they run without one)
  local cap = sanitized and "" or "ulimit -v 8000000; "
  local cmd = ("cd %s && echo %s | tr ' ' '\\n' | xargs -P %d -I{} sh -c %s"):format(
    q(scratch), q(groups), nproc, q(cap .. "LOUPE_DATA=" .. q(scratch .. "/empty")
      .. " LOUPE_MAX_BYTES=268435456 LOUPE_THREADS=1 OMP_NUM_THREADS=1"
      .. " ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=1"
      .. " timeout 600 " .. q(host) .. " " .. q(battery) .. " {} log.{} " .. (os.getenv("MISUSE_MODE") or "full")
      .. " > out.{} 2>&1; echo $? > rc.{}"))
  os.execute(cmd)
  local failures = {}
  for g in groups:gmatch("%S+") do
    local rc = tonumber(read(scratch .. "/rc." .. g))
    local out = read(scratch .. "/out." .. g)
    local calls = tonumber(out:match("battery " .. g:gsub("%p", "%%%0") .. ": (%d+) calls"))
    if rc ~= 0 or not calls or calls < 100 then
      local how = rc == 124 and "timed out (a hang?)" or rc and rc > 128 and ("killed by signal " .. (rc - 128))
        or ("exit status " .. tostring(rc))
      failures[#failures + 1] = ("group %s: %s after %s; the last call: %s\n%s"):format(
        g, how, calls and (calls .. " calls") or "an unfinished run",
        last_line(read(scratch .. "/log." .. g)), out:sub(-1500))
    end
  end
  os.execute("rm -rf " .. q(scratch))
  if #failures > 0 then error(table.concat(failures, "\n\n"), 0) end
end

-- ---- regressions: what the battery found ----

-- flatten_state recursed into a table holding itself until memory ran out (23 GB)
function tests.flatten_state_refuses_a_cyclic_table()
  local t = {lr = 0.1}
  t.self = t
  raises(function() loupe.optim.flatten_state(t) end, "flatten_state: 'optim.self' contains itself")
  local shared = {1, 2}
  local tensors, meta = loupe.optim.flatten_state({a = shared, b = shared}) -- shared, not a cycle
  eq(meta["optim.a.1"], "1")
  eq(meta["optim.b.2"], "2")
  eq(next(tensors), nil)
end

-- resize computed its weight tables' sizes before checking the result's size: 2^62 output
-- pixels overflowed the byte counts (UBSan), an empty input let them through to malloc
function tests.resize_to_absurd_sizes()
  raises(function() loupe.transforms.resize(loupe.rand(2, 3), math.maxinteger) end, "out of memory allocating tensor")
  raises(function() loupe.interpolate(loupe.rand(1, 2, 3), {1, 2 ^ 40}) end, "out of memory allocating tensor [1,1,1099511627776] float32")
  raises(function() loupe.interpolate(loupe.rand(0, 2, 3), {2 ^ 62, 2}) end, "out of memory")
  eq(loupe.interpolate(loupe.rand(0, 2, 3), {5, 2}):numel(), 0)
  eq(loupe.interpolate(loupe.ones(1, 2, 3), {4, 6}):sum():item(), 24)
end

-- the loader's batch count overflowed for batch_size near 2^63 (UBSan)
function tests.loader_batch_size_near_2_63()
  local it = loupe._batch.iter(loupe.rand(5, 2), loupe.tensor({1, 2, 1, 2, 1}, "int64"), nil, 5,
                               math.maxinteger, false, false)
  eq(#it, 1)
  local x = it:next()
  eq(x:size(1), 5)
  it:close()
  local ds = loupe.data.dataset{x = loupe.rand(5, 2), y = loupe.tensor({1, 2, 1, 2, 1}, "int64")}
  eq(#ds:loader{batch_size = math.maxinteger}, 1)
  eq(#ds:loader{batch_size = math.maxinteger, drop_last = true}, 0)
end

-- a dash pattern of zeros (or of non-numbers, read as zeros) put cairo into an error state,
-- which leaked inside cairo (LeakSanitizer)
function tests.plot_dash_pattern_checked()
  local fig = function() return loupe.plot.figure{width = 80, height = 60} end
  raises(function() fig():line(loupe.rand(4), {dash = {0, 0}}):render() end, "plot: a dash pattern needs a positive length")
  raises(function() fig():line(loupe.rand(4), {dash = {{1, 2}, {3}}}):render() end, "plot: dash lengths must be numbers in [0, 1000)")
  raises(function() fig():line(loupe.rand(4), {dash = {true, 1}}):render() end, "plot: dash lengths must be numbers")
  eq(fig():line(loupe.rand(4), {dash = {0, 2, 3}}):render():dim(), 3)
end

-- bilinear_mlp{n_layer = 2^62} made layers until memory ran out
function tests.bilinear_mlp_layer_count_bounded()
  raises(function() loupe.models.bilinear_mlp{d_input = 4, d_hidden = 3, d_output = 2, n_layer = 1 << 62} end,
         "bilinear_mlp: n_layer must be at most 1024, got 4611686018427387904")
  eq(#loupe.models.bilinear_mlp{d_input = 4, d_hidden = 3, d_output = 2, n_layer = 3}.blocks, 3)
end

-- ---- aliasing: in-place arguments that share memory give the values of separate copies ----

local function fresh()
  loupe.manual_seed(5)
  return loupe.rand(4, 4) + 0.5
end

-- f(x) modifies x in place through views; ref(x, copy) does the same with the source copied
-- first. Both must leave x equal.
local function same_as_copied(what, f)
  local a, b = fresh(), fresh()
  f(a, function(v) return v end)
  f(b, function(v) return v:clone() end)
  truthy(a:equal(b), what .. ": in-place result with an aliased argument differs from the copy's")
end

function tests.inplace_with_aliased_arguments()
  for _, m in ipairs{"add_", "sub_", "mul_", "div_", "pow_", "copy_"} do
    same_as_copied(m .. "(x)", function(x, src) x[m](x, src(x)) end)
    same_as_copied(m .. "(x:t())", function(x, src) x[m](x, src(x:t())) end)
    same_as_copied("x:t():" .. m .. "(x)", function(x, src) local v = x:t(); v[m](v, src(x)) end)
    same_as_copied(m .. " rows 2..4 from rows 1..3", function(x, src)
      local d = x:narrow(1, 2, 3); d[m](d, src(x:narrow(1, 1, 3))) end)
    same_as_copied(m .. " rows 1..3 from rows 2..4", function(x, src)
      local d = x:narrow(1, 1, 3); d[m](d, src(x:narrow(1, 2, 3))) end)
    same_as_copied(m .. " columns shifted", function(x, src)
      local d = x:narrow(2, 2, 3); d[m](d, src(x:narrow(2, 1, 3))) end)
    same_as_copied(m .. " flat, shifted by one", function(x, src)
      local v = x:view(-1); local d = v:narrow(1, 2, 15); d[m](d, src(v:narrow(1, 1, 15))) end)
    same_as_copied(m .. " broadcast of its own row", function(x, src) x[m](x, src(x[1])) end)
  end
  same_as_copied("x:add_(x, 2)", function(x, src) x:add_(src(x), 2) end)
  same_as_copied("assignment of overlapping rows", function(x, src) x[{{2, 4}}] = src(x[{{1, 3}}]) end)
  same_as_copied("masked_fill_ with a mask of itself", function(x, src) x:masked_fill_(src(x:gt(1)), 0) end)
  same_as_copied("x[x:gt(1)] = x:max()", function(x, src) x[src(x:gt(1))] = 0 end)
end

-- writing into an expanded view would write each shared element several times: x:expand(4, 3)
-- :add_(1) added 4 to each element of x; now an error, as in PyTorch
function tests.inplace_into_an_expanded_view_is_refused()
  local x = loupe.zeros(1, 3)
  local e = x:expand(4, 3)
  local msg = "the tensor written in place is an expanded view [4,3] whose elements share memory (clone() it first)"
  raises(function() e:add_(1) end, "add_: " .. msg)
  raises(function() e:copy_(loupe.rand(4, 3)) end, "copy_: " .. msg)
  raises(function() e:fill_(2) end, "fill_: " .. msg)
  raises(function() e:zero_() end, "zero_: " .. msg)
  raises(function() e:clamp_(0, 1) end, "clamp_: " .. msg)
  raises(function() e:relu_() end, "relu_: " .. msg)
  raises(function() e:masked_fill_(loupe.ones(4, 3):byte(), 1) end, "masked_fill_: " .. msg)
  raises(function() e[1] = 5 end, "assignment: " .. msg)
  eq(x:sum():item(), 0, "x untouched")
  -- a size-1 dimension with stride 0 shares nothing: still writable
  local one = loupe.zeros(3):view(1, 3):expand(1, 3)
  one:add_(1)
  eq(one:sum():item(), 3)
  eq(e:clone():add_(1):sum():item(), 12)
end

return tests
