-- testlib.lua — assertions for the Lua tests (tests/run.lua).
local loupe = require "loupe"
local M = {}

local function fail(msg, level) error(msg, (level or 1) + 2) end

function M.eq(a, b, what)
  if a ~= b then fail(("%sexpected %s, got %s"):format(what and what .. ": " or "", tostring(b), tostring(a))) end
end

function M.truthy(v, what) if not v then fail(what or "expected a true value") end end

-- Tensor (or nested table / number) closeness with a maxdiff report, like llm.c's check_tensor.
function M.close(a, b, tol, what)
  tol = tol or 1e-5
  if type(a) == "number" and type(b) == "number" then
    local d = math.abs(a - b)
    if not (d <= tol * (1 + math.abs(b))) then
      fail(("%s%g vs %g (diff %g)"):format(what and what .. ": " or "", a, b, d))
    end
    return
  end
  if type(a) == "table" then a = loupe.tensor(a) end
  if type(b) == "table" then b = loupe.tensor(b) end
  local sa, sb = table.concat(a:shape(), ","), table.concat(b:shape(), ",")
  if sa ~= sb then fail(("%sshape [%s] vs [%s]"):format(what and what .. ": " or "", sa, sb)) end
  if a:numel() == 0 then return end
  local af, bf = a:float(), b:float()
  local diff = (af - bf):abs()
  local bound = bf:abs() * tol + tol
  local bad = diff:gt(bound):float():sum():item()
  if bad > 0 or diff:ne(diff):float():sum():item() > 0 then
    fail(("%smaxdiff %g over %d elements (%d beyond tol %g)"):format(
      what and what .. ": " or "", diff:max():item(), a:numel(), bad, tol))
  end
end

-- fn must raise an error whose message contains `pattern` (plain text).
function M.raises(fn, pattern)
  local ok, err = pcall(fn)
  if ok then fail("expected an error containing '" .. pattern .. "', none raised") end
  if not tostring(err):find(pattern, 1, true) then
    fail(("expected an error containing '%s', got '%s'"):format(pattern, tostring(err)))
  end
end

-- Reads a reference fixture written by tests/fixtures/gen_torch_*.py, whose tensors are named
-- "<case>.in<k>", "<case>.out[<k>]", "<case>.grad<k>" and "<case>.w". Returns
-- case -> {ins = {...}, outs = {...}, grads = {...}, w = tensor}, or nil and the load error.
function M.load_cases(path)
  local ok, fixture = pcall(loupe.load, path)
  if not ok then return nil, fixture end
  local cases = {}
  for key, t in pairs(fixture) do
    local name, what = key:match("^(.-)%.([%w]+)$")
    local c = cases[name] or {ins = {}, outs = {}, grads = {}}
    cases[name] = c
    local k = tonumber(what:match("%d+$") or "1")
    if what:match("^in%d+$") then c.ins[k] = t
    elseif what:match("^out%d*$") then c.outs[k] = t
    elseif what:match("^grad%d+$") then c.grads[k] = t
    elseif what == "w" then c.w = t
    else error("unexpected fixture entry " .. key .. " in " .. path) end
  end
  return cases
end

-- The tests of a reference fixture: one per case of `cases` (name -> function of the
-- fixture's inputs), comparing the outputs, and the gradients of sum(out[1] * w) with respect
-- to the inputs, with the PyTorch values within `tol`; plus a test that the fixture and the
-- case table name the same cases. opts: prefix (of the test names), tol, generator (the
-- script that writes the fixture, for the message when a case is missing).
function M.reference_tests(path, cases, opts)
  local fixture_cases, load_err = M.load_cases(path)
  local function check_loaded()
    assert(fixture_cases, "cannot load " .. path .. ": " .. tostring(load_err))
  end
  local function count(t)
    local n = 0
    for _ in pairs(t) do n = n + 1 end
    return n
  end
  local function run_case(name)
    check_loaded()
    local ref = fixture_cases[name]
    assert(ref, "case " .. name .. " is missing from " .. path .. " (rerun " .. opts.generator .. ")")
    local ins = {}
    for k = 1, #ref.ins do
      local x = ref.ins[k]:clone() -- fresh leaves: the fixture's tensors stay untouched
      if ref.grads[k] then x:requires_grad_() end
      ins[k] = x
    end
    local outs = table.pack(cases[name](table.unpack(ins, 1, #ref.ins)))
    M.eq(outs.n, count(ref.outs), name .. ": number of outputs")
    for j = 1, outs.n do
      M.eq(outs[j]:dtype(), ref.outs[j]:dtype(), name .. ": dtype of output " .. j)
      M.close(outs[j], ref.outs[j], opts.tol, name .. ": output " .. j)
    end
    if ref.w then
      M.truthy(outs[1].requires_grad, name .. ": output does not require grad")
      local loss = (outs[1] * ref.w):sum()
      loss:backward()
      for k, g in pairs(ref.grads) do
        M.truthy(ins[k].grad, name .. ": no gradient for input " .. k)
        M.close(ins[k].grad, g, opts.tol, name .. ": gradient of input " .. k)
      end
    end
  end

  local tests = {}
  for name in pairs(cases) do
    tests[opts.prefix .. name] = function() run_case(name) end
  end
  tests.fixture_and_cases_agree = function()
    check_loaded()
    local missing = {}
    for name in pairs(fixture_cases) do
      if not cases[name] then missing[#missing + 1] = name .. " (no Lua case)" end
    end
    for name in pairs(cases) do
      if not fixture_cases[name] then missing[#missing + 1] = name .. " (not in the fixture)" end
    end
    table.sort(missing)
    if #missing > 0 then error("cases out of step: " .. table.concat(missing, ", ")) end
  end
  return tests
end

-- ---- helpers for tests that run child processes and read files ----

-- s quoted for the shell.
function M.q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

-- The file's bytes, or nil when it cannot be read.
function M.readfile(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

-- A fresh empty folder.
function M.tmpdir()
  local d = os.tmpname()
  os.remove(d)
  loupe.mkdir(d)
  return d
end

return M
