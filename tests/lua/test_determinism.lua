-- test_determinism.lua — one seeded PRNG: the same seed gives bit-identical numbers (also
-- across thread counts and processes), different seeds differ, LOUPE_SEED seeds a fresh
-- process, and the generator state can be saved and restored.
local loupe = require "loupe"
local T = require "testlib"
local eq, truthy = T.eq, T.truthy

local tests = {}

local HOST = os.getenv("LOUPE") or "./loupe"

-- Every draw the library offers, in one fixed order.
local function draws()
  return {
    rand = loupe.rand(1000),
    randn = loupe.randn(1001), -- odd: the last Box-Muller pair is half used
    randint = loupe.randint(-5, 5, 300),
    randperm = loupe.randperm(257),
    rand_like = loupe.rand_like(loupe.zeros(3, 4)),
    randn_big = loupe.randn(100000), -- large enough to be filled by several threads
  }
end

local function same(a, b)
  for k, v in pairs(a) do
    if not v:equal(b[k]) then return false, k end
  end
  return true
end

-- Bits of a float32 tensor as a string (equal() compares values; this is stricter: -0 / NaN).
local function fingerprint(t)
  return table.concat(t:view(-1):narrow(1, 1, math.min(64, t:numel())):totable(), ",")
end

function tests.same_seed_gives_identical_results()
  loupe.manual_seed(1234)
  local a = draws()
  loupe.manual_seed(1234)
  local b = draws()
  local ok, which = same(a, b)
  truthy(ok, "same seed, different " .. tostring(which))
  eq(fingerprint(a.randn), fingerprint(b.randn))
  eq(loupe.initial_seed(), 1234)
end

function tests.different_seeds_differ()
  loupe.manual_seed(1)
  local a = draws()
  loupe.manual_seed(2)
  local b = draws()
  for k in pairs(a) do
    eq(a[k]:equal(b[k]), false, k .. " is the same for seeds 1 and 2")
  end
  -- successive draws differ too
  loupe.manual_seed(1)
  eq(loupe.rand(100):equal(loupe.rand(100)), false)
end

function tests.results_do_not_depend_on_the_thread_count()
  local threads = loupe.get_num_threads()
  loupe.set_num_threads(1)
  loupe.manual_seed(99)
  local a = draws()
  loupe.set_num_threads(4)
  loupe.manual_seed(99)
  local b = draws()
  loupe.set_num_threads(threads)
  local ok, which = same(a, b)
  truthy(ok, "1 vs 4 threads differ in " .. tostring(which))
end

function tests.state_can_be_saved_and_restored()
  loupe.manual_seed(5)
  loupe.rand(10)
  local state = loupe.get_rng_state()
  local a = draws()
  loupe.rand(3)
  loupe.set_rng_state(state)
  local b = draws()
  truthy(same(a, b), "restored state repeats the draws")
end

-- Draws in a fresh process; `env` is put in front of the command.
local function shell_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function child_draws(env, code)
  local p = io.popen(("%s %s -e %s 2>&1"):format(env, HOST, shell_quote(code)))
  local out = p:read("a")
  local ok = p:close()
  truthy(ok, "child failed: " .. out)
  return out
end

function tests.loupe_seed_in_the_environment()
  local code = [[local loupe = require "loupe"
    io.write(table.concat(loupe.randn(5):totable(), ","), ";",
             table.concat(loupe.randperm(6):totable(), ","), ";", loupe.initial_seed())]]
  local a = child_draws("LOUPE_SEED=42", code)
  local b = child_draws("LOUPE_SEED=42 LOUPE_THREADS=1", code)
  local c = child_draws("LOUPE_SEED=43", code)
  if os.getenv("VERBOSE") then print(a, c) end
  eq(a, b, "LOUPE_SEED=42 twice")
  truthy(a ~= c, "LOUPE_SEED 42 and 43 give the same numbers")
  truthy(a:match(";42$"), "initial_seed() reports LOUPE_SEED: " .. a)
  -- the environment seed and manual_seed agree: a process seeded with LOUPE_SEED=42 draws
  -- what this one draws after manual_seed(42)
  loupe.manual_seed(42)
  local here = table.concat(loupe.randn(5):totable(), ",") .. ";" ..
               table.concat(loupe.randperm(6):totable(), ",") .. ";42"
  eq(a, here)
  -- with no LOUPE_SEED, the default seed is fixed too (reproducible runs by default)
  eq(child_draws("env -u LOUPE_SEED", code), child_draws("env -u LOUPE_SEED", code))
end

function tests.training_steps_are_reproducible()
  -- a small model trained twice from the same seed ends bit-identical
  local function train()
    loupe.manual_seed(7)
    local W = (loupe.randn(8, 3) * 0.1):requires_grad_()
    local X, Y = loupe.randn(64, 8), loupe.randint(1, 4, 64)
    for _ = 1, 20 do
      local idx = loupe.randperm(64):narrow(1, 1, 16)
      local logits = X:index_select(1, idx):mm(W)
      local loss = -logits:log_softmax(2):gather(2, Y:index_select(1, idx):view(16, 1)):mean()
      W.grad = nil
      loss:backward()
      loupe.no_grad(function() W:add_(W.grad, -0.5) end)
    end
    return W:detach()
  end
  truthy(train():equal(train()))
end

return tests
