-- The C module loupe.so loads into a plain lua5.4 interpreter, not only into the host.
local t = require "testlib"
local T = {}

local module = os.getenv("MODULE") or "./loupe.so"

-- Runs lua5.4 with loupe.so (and lua/) on the search paths; returns its output and status.
local function lua54(code)
  local dir = module:match("^(.*)/[^/]*$") or "."
  local preload = ""
  if os.getenv("SANITIZE") == "1" then
    -- an ASan-built module needs the ASan runtime loaded first into the plain interpreter
    local p = io.popen("gcc -print-file-name=libasan.so")
    preload = "LD_PRELOAD=" .. p:read("l") .. " ASAN_OPTIONS=detect_leaks=0 "
    p:close()
  end
  local cmd = ("%slua5.4 -e 'package.cpath=%q..\"/?.so;\"..package.cpath; " ..
               "package.path=\"lua/?.lua;\"..package.path' -e %q 2>&1"):format(
    preload, dir, code)
  local p = io.popen(cmd)
  local out = p:read("a")
  local ok, _, status = p:close()
  return out, ok and 0 or status
end

function T.require_in_plain_lua()
  local out, status = lua54([[local l = require "loupe"
    local x = l.tensor{1, 2, 3}:requires_grad_()
    ;(x * x):sum():backward()
    print(x.grad)]])
  t.eq(status, 0, "exit status (output: " .. out .. ")")
  t.eq(out, "tensor([2., 4., 6.])\n")
end

function T.errors_are_lua_errors_in_plain_lua()
  local out, status = lua54([[local l = require "loupe"
    local ok, err = pcall(function() return l.zeros(64, 784):mm(l.zeros(512, 10)) end)
    print(ok, err)]])
  t.eq(status, 0, "exit status (output: " .. out .. ")")
  t.truthy(out:find("mm: shapes [64,784] and [512,10] do not match", 1, true), out)
end

return T
