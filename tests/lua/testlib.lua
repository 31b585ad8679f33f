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

return M
