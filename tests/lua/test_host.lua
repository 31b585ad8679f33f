-- test_host.lua — the `loupe` executable, run as a child process: options, scripts and `arg`,
-- error reports and exit statuses, stdin as a script, package.path, the thread waiting
-- policy, and the REPL through a pseudo-terminal (util-linux `script`).
-- The host under test is $LOUPE (default ./loupe); the tests run from the repository root.
local host = os.getenv("LOUPE") or "./loupe"

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function readfile(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function writefile(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  assert(os.execute("mkdir -p " .. q(d)))
  return d
end

-- Runs a shell command line; returns stdout, stderr and the exit status.
local function sh(cmd)
  local out, err = os.tmpname(), os.tmpname()
  local ok, how, code = os.execute(("%s >%s 2>%s"):format(cmd, q(out), q(err)))
  local so, se = readfile(out), readfile(err)
  os.remove(out)
  os.remove(err)
  if how == "signal" then error(("`%s` was killed by signal %d\nstderr: %s"):format(cmd, code, se), 2) end
  return so, se, code
end

-- Runs the host with the given (unquoted) argument string.
local function loupe(args, env)
  return sh((env and env .. " " or "") .. q(host) .. " " .. args)
end

-- The host's absolute path (for tests that change directory).
local function abs_host()
  if host:sub(1, 1) == "/" then return host end
  local p = io.popen("pwd")
  local cwd = p:read("l")
  p:close()
  return cwd .. "/" .. host
end

local function has(s, needle, what)
  if not s:find(needle, 1, true) then
    error(("%s: expected to find %q in:\n%s"):format(what or "output", needle, s), 2)
  end
end

local function eq(a, b, what)
  if a ~= b then error(("%s: expected %q, got %q"):format(what or "value", b, a), 2) end
end

local function need_tool(name)
  if not os.execute("command -v " .. name .. " >/dev/null 2>&1") then
    error(("the REPL test needs `%s` (util-linux / coreutils), which is not installed"):format(name), 2)
  end
end

-- Feeds `input` to the host's REPL on a pseudo-terminal; returns everything the terminal
-- showed, with carriage returns and bracketed-paste switches removed.
local function repl(input, home)
  need_tool("script")
  need_tool("timeout")
  local inp = os.tmpname()
  writefile(inp, input)
  local own_home = not home
  home = home or tmpdir()
  local out, err, code = sh(("HOME=%s TERM=dumb timeout 60 script -qec %s /dev/null <%s")
    :format(q(home), q("exec " .. q(host)), q(inp)))
  os.remove(inp)
  if own_home then os.execute("rm -rf " .. q(home)) end
  out = out:gsub("\r", ""):gsub("\27%[%?2004[hl]", "")
  return out, err, code
end

local T = {}

function T.version()
  local out, _, code = loupe("--version")
  eq(code, 0, "exit status")
  has(out, "loupe 0.1.0")
  has(out, "Lua 5.4")
  local out2 = loupe("-v")
  eq(out2, out, "-v")
end

function T.help()
  local out, _, code = loupe("--help")
  eq(code, 0, "exit status")
  has(out, "usage:")
  has(out, "-e CODE")
  has(out, "LOUPE_THREADS")
end

function T.bad_option_is_a_usage_error()
  local _, err, code = loupe("--frobnicate")
  eq(code, 2, "exit status")
  has(err, "unrecognized option '--frobnicate'", "stderr")
  local _, err2, code2 = loupe("-e")
  eq(code2, 2, "exit status of -e without code")
  has(err2, "'-e' needs an argument", "stderr")
end

function T.e_runs_in_order()
  local out, _, code = loupe([[-e "x = 6 * 7" -e "print(x)" -e "print('b')"]])
  eq(code, 0, "exit status")
  eq(out, "42\nb\n")
end

function T.e_then_script()
  local d = tmpdir()
  writefile(d .. "/s.lua", "print('script', x)\n")
  local out, _, code = loupe([[-e "x = 1" ]] .. q(d .. "/s.lua"))
  eq(code, 0, "exit status")
  eq(out, "script\t1\n")
  os.execute("rm -rf " .. q(d))
end

function T.script_gets_arg_table()
  local d = tmpdir()
  local path = d .. "/args.lua"
  writefile(path, [[
print(arg[0], arg[1], arg[2], #arg)
print(select("#", ...), ...)
print(arg[-1] ~= nil)
]])
  local out, _, code = loupe(q(path) .. " first 'second arg'")
  eq(code, 0, "exit status")
  eq(out, path .. "\tfirst\tsecond arg\t2\n2\tfirst\tsecond arg\ntrue\n")
  os.execute("rm -rf " .. q(d))
end

function T.run_is_the_batch_runner_and_a_script_named_run_stays_reachable()
  -- `loupe run` is the batch runner (test_runner.lua); a script file named run is still
  -- run as `loupe ./run` or `loupe -- run`
  local d = tmpdir()
  writefile(d .. "/run", "print('ran', ...)\n")
  local out, err, code = sh(("cd %s && %s run x"):format(q(d), q(abs_host())))
  eq(code, 2, "exit status")
  has(err, "loupe run: 'x': No such file or directory")
  out, _, code = sh(("(cd %s && %s ./run x && %s -- run y)"):format(q(d), q(abs_host()), q(abs_host())))
  eq(code, 0, "exit status")
  eq(out, "ran\tx\nran\ty\n")
  os.execute("rm -rf " .. q(d))
end

function T.script_error_exits_1_with_traceback()
  local d = tmpdir()
  local path = d .. "/boom.lua"
  writefile(path, "local function f()\n  local x = 1\n  error('boom')\nend\nf()\n")
  local out, err, code = loupe(q(path))
  eq(code, 1, "exit status")
  eq(out, "", "stdout")
  has(err, "loupe: " .. path .. ":3: boom", "stderr")
  has(err, "stack traceback:", "stderr")
  has(err, "in local 'f'", "stderr")
  os.execute("rm -rf " .. q(d))
end

function T.e_error_exits_1()
  local out, err, code = loupe([[-e "print(1)" -e "error('nope')" -e "print(2)"]])
  eq(code, 1, "exit status")
  eq(out, "1\n", "stdout stops at the error")
  has(err, "loupe: (command line):1: nope", "stderr")
  has(err, "stack traceback:", "stderr")
end

function T.error_objects_that_are_not_strings()
  local _, err, code = loupe([[-e "error({})"]])
  eq(code, 1, "exit status")
  has(err, "loupe: (error object is a table value)", "stderr")
  local _, err2 = loupe([[-e "error(setmetatable({}, {__tostring = function() return 'custom' end}))"]])
  has(err2, "loupe: custom", "stderr")
end

function T.syntax_error_and_missing_file()
  local d = tmpdir()
  writefile(d .. "/bad.lua", "x = = 1\n")
  local _, err, code = loupe(q(d .. "/bad.lua"))
  eq(code, 1, "exit status")
  has(err, "loupe: " .. d .. "/bad.lua:1:", "stderr")
  local _, err2, code2 = loupe(q(d .. "/missing.lua"))
  eq(code2, 1, "exit status")
  has(err2, "loupe: cannot open " .. d .. "/missing.lua", "stderr")
  os.execute("rm -rf " .. q(d))
end

function T.stdin_is_the_script_when_not_a_terminal()
  local out, _, code = sh([[printf 'local a = 1 + 2\nprint("stdin", a)\n' | ]] .. q(host))
  eq(code, 0, "exit status")
  eq(out, "stdin\t3\n")
  local out2 = sh([[printf 'print(...)' | ]] .. q(host) .. " - x y")
  eq(out2, "x\ty\n", "'-' reads stdin and passes the arguments")
  local _, err3, code3 = sh([[printf 'error("in stdin")' | ]] .. q(host))
  eq(code3, 1, "exit status of a failing stdin script")
  has(err3, "loupe: stdin:1: in stdin", "stderr")
end

function T.os_exit_status()
  local _, _, code = loupe([[-e "os.exit(3)"]])
  eq(code, 3, "os.exit(3)")
  local _, _, code2 = loupe([[-e "os.exit(false)"]])
  eq(code2, 1, "os.exit(false)")
  local out, _, code3 = loupe([[-e "setmetatable({}, {__gc = function() print('collected') end}) os.exit(0)"]])
  eq(code3, 0, "os.exit(0)")
  eq(out, "collected\n", "os.exit closes the state, so __gc runs")
end

function T.module_is_preloaded()
  local out, err, code = loupe([[-e "print(type(package.preload.loupe), type(require 'loupe'))"]])
  eq(code, 0, "exit status (stderr: " .. err .. ")")
  eq(out, "function\ttable\n")
end

function T.package_path_has_the_lua_folder()
  local out = loupe([[-e "print(package.path)"]])
  has(out, "/lua/?.lua;", "package.path")
  has(out, "/lua/?/init.lua;", "package.path")

  local d = tmpdir()
  assert(os.execute("mkdir -p " .. q(d .. "/hosttest")))
  writefile(d .. "/hosttest/mod.lua", "return {answer = 42}\n")
  writefile(d .. "/hosttest/init.lua", "return {init = true}\n")
  local out2, err2, code2 = loupe([[-e "print(require('hosttest.mod').answer, require('hosttest').init)"]],
    "LOUPE_LUA_PATH=" .. q(d))
  eq(code2, 0, "exit status (stderr: " .. err2 .. ")")
  eq(out2, "42\ttrue\n")
  local out3 = loupe([[-e "print(package.path)"]], "LOUPE_LUA_PATH=" .. q(d))
  eq(out3:sub(1, #d + 7), d .. "/?.lua;", "LOUPE_LUA_PATH comes first")
  os.execute("rm -rf " .. q(d))
end

function T.passive_thread_waiting()
  local out = loupe([[-e "print(os.getenv('OMP_WAIT_POLICY'), os.getenv('LOUPE_REEXEC'))"]],
    "env -u OMP_WAIT_POLICY -u LOUPE_REEXEC")
  eq(out, "passive\tnil\n", "OMP_WAIT_POLICY set by the host")
  local out2 = loupe([[-e "print(os.getenv('OMP_WAIT_POLICY'))"]], "OMP_WAIT_POLICY=active")
  eq(out2, "active\n", "the user's choice is kept")
end

function T.loupe_threads_setting()
  -- the module applies LOUPE_THREADS when it loads
  local out, err, code = loupe([[-e "print(require('loupe').get_num_threads())"]], "LOUPE_THREADS=1")
  eq(code, 0, "exit status")
  eq(out, "1\n")
  eq(err:find("LOUPE_THREADS", 1, true), nil, "no warning for a valid value")
  local out2, err2, code2 = loupe([[-e "require('loupe') print('ok')"]], "LOUPE_THREADS=lots")
  eq(code2, 0, "exit status")
  eq(out2, "ok\n")
  has(err2, "ignoring LOUPE_THREADS=lots", "stderr")
end

function T.repl_without_a_terminal_via_i()
  -- -i forces the REPL; without a terminal lines are read plainly, with the same logic
  local input = "x = 20 + 1\n=x * 2\nx * 3, 's'\nfor i=1,2 do\nprint(i * 100)\nend\n"
    .. "error('e')\nprint('after' .. '!')\n"
  local out, err, code = sh("printf " .. q(input) .. " | " .. q(host) .. " -i")
  eq(code, 0, "exit status")
  has(out, "42\n", "=x * 2")
  has(out, "63\ts\n", "bare expression list")
  has(out, "100\n200\n", "multi-line chunk")
  has(out, ">> ", "continuation prompt")
  has(out, "after!\n", "the REPL goes on after an error")
  has(err, "stdin:1: e", "the error message")
  has(err, "stack traceback:", "the traceback")
end

-- On a terminal the input is echoed, so the expected outputs below never appear in the input.
function T.repl_on_a_terminal()
  local home = tmpdir()
  local out = repl("x = 20 + 1\n=x * 2\nfor i=1,2 do\nprint(i * 100)\nend\nt = {}\nprint(#t + 7)\n"
    .. "1 +\n 100\nerror('oops')\nprint('still' .. ' here')\n\4", home)
  has(out, "loupe 0.1.0", "banner")
  has(out, "> ", "prompt")
  has(out, "\n42\n", "=x * 2")
  has(out, ">> ", "continuation prompt")
  has(out, "\n100\n200\n", "multi-line for loop")
  has(out, "\n7\n", "statement output")
  has(out, "\n101\n", "a bare expression over two lines")
  has(out, "stdin:1: oops", "error message")
  has(out, "stack traceback:", "traceback")
  has(out, "still here", "the REPL goes on after an error")
  -- history, multi-line chunks kept as one entry
  local hist = readfile(home .. "/.loupe_history")
  has(hist, "x = 20 + 1", "history")
  has(hist, "for i=1,2 do\nprint(i * 100)\nend", "history")
  os.execute("rm -rf " .. q(home))
end

function T.repl_prints_tensors_and_values()
  local out = repl("t = loupe.tensor({1, 2, 3})\nt\n=1, nil, 'x'\n\4")
  has(out, "tensor([1., 2., 3.])", "a tensor prints like PyTorch")
  has(out, "1\tnil\tx", "several values")
end

function T.repl_ctrl_c()
  -- Ctrl-C at the prompt drops the line; Ctrl-C during a computation stops it and the
  -- REPL continues. Timed input: the sleeps let the host start and the loop begin. `exec`:
  -- script(1) runs the command through $SHELL, and a shell left waiting in the terminal's
  -- process group (dash) would die of the Ctrl-C itself.
  need_tool("script")
  need_tool("timeout")
  local home = tmpdir()
  local cmd = ([[(sleep 2; printf 'abc'; sleep 0.5; printf '\003'; sleep 0.5; printf 'while true do end\n';
    sleep 2; printf '\003'; sleep 1; printf '=6*7\n\004') |
    HOME=%s TERM=dumb timeout 60 script -qec %s /dev/null]]):format(q(home), q("exec " .. q(host)))
  local out, _, code = sh(cmd)
  out = out:gsub("\r", ""):gsub("\27%[%?2004[hl]", "")
  eq(code, 0, "exit status (124 means the loop was not interrupted)\n" .. out)
  has(out, "interrupted", "the loop was interrupted")
  has(out, "\n42\n", "the REPL went on")
  eq(out:find("abcwhile", 1, true), nil, "the interrupted line was dropped")
  os.execute("rm -rf " .. q(home))
end

return T
