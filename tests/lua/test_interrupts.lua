-- test_interrupts.lua — Ctrl-C (SIGINT) and SIGTERM sent to child processes: fit with a
-- checkpoint stops mid-epoch with "interrupted" and exit status 1, its checkpoint holds the
-- last complete epoch, and resuming gives weights and history bit-identical to an
-- uninterrupted run; loupe.uninterruptible holds an interrupt back until its function
-- returns; the experiment helper still writes metrics.json; `loupe run` records a SIGTERM
-- (sent to it alone or to its whole process group), skips the rest and exits with 143; a
-- SIGTERM delivered twice at once is one request, a later one kills.
-- The children are $LOUPE (default ./loupe) with LOUPE_THREADS=1 (bit-identity needs the
-- same thread count); the shell scripts poll files to know when to send a signal.
local loupe = require "loupe"
local T = require "testlib"
local json = loupe.json

local host = os.getenv("LOUPE") or "./loupe"

local q = T.q
local readfile = T.readfile
local tmpdir = T.tmpdir

local function rmdir(d) os.execute("rm -rf " .. q(d)) end

local function listdir(dir)
  local names = {}
  local p = io.popen("ls -A " .. q(dir))
  for n in p:lines() do names[#names + 1] = n end
  p:close()
  return table.concat(names, ",")
end

-- Runs a shell script file with arguments; returns its exit status (a signal is an error).
local function sh(script, ...)
  local args = {}
  for i, a in ipairs{...} do args[i] = q(a) end
  local _, how, code = os.execute(("LOUPE_THREADS=1 sh %s %s"):format(q(script), table.concat(args, " ")))
  if how == "signal" then error(("sh %s was killed by signal %d"):format(script, code), 2) end
  return code
end

-- ---- fit, interrupted and resumed ----

-- fit.lua CKPT OUT: 3 epochs of 64 batches on synthetic data, each batch slowed by a busy
-- wait of 5 ms (so an epoch takes about 0.35 s and a signal lands inside one); writes the
-- final weights and the history (without times, numbers to 17 digits) to OUT.
local FIT = [[
local loupe = require "loupe"
local ckpt, out = arg[1], arg[2]
loupe.manual_seed(11)
local centers = loupe.randn(4, 16) * 2
local function data(n)
  local y = loupe.randint(1, 5, {n})
  return {x = centers:index_select(1, y) + loupe.randn(n, 16), y = y}
end
local train, val = data(2048), data(256)
local nn = loupe.nn
local model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4))
local opt = loupe.optim.SGD(model:parameters(), {lr = 0.05, momentum = 0.9})
local sched = loupe.optim.lr_scheduler.StepLR(opt, {step_size = 1, gamma = 0.5})
local function slow(x)
  local t = loupe.clock()
  while loupe.clock() - t < 0.005 do end
  return x + loupe.randn_like(x) * 0.1
end
local h = loupe.train.fit(model, train, val, {epochs = 3, batch_size = 32, seed = 5,
  optimizer = opt, scheduler = sched, augment = slow, checkpoint = ckpt, log = false})
local lines = {}
for e, r in ipairs(h) do
  local keys = {}
  for k in pairs(r) do if k ~= "time" then keys[#keys + 1] = k end end
  table.sort(keys)
  for _, k in ipairs(keys) do lines[#lines + 1] = ("%d %s %.17g"):format(e, k, r[k]) end
end
loupe.save(out, model:state_dict(), {history = table.concat(lines, "\n")})
print("finished")
]]

-- interrupt.sh HOST SCRIPT CKPT OUT SIG: starts the fit, waits for its first checkpoint, lets
-- the next epoch begin, sends SIG; exits with the fit's status. (env --default-signal: a
-- background job of a shell script starts with SIGINT ignored.)
local INTERRUPT = [[
env --default-signal=INT "$1" "$2" "$3" "$4" >"$4.out" 2>"$4.err" &
pid=$!
i=0
until [ -e "$3" ] || [ $i -ge 3000 ]; do sleep 0.01; i=$((i + 1)); done
sleep 0.1
kill -$5 $pid
wait $pid
]]

local RESUME = [[
"$1" "$2" "$3" "$4" >"$4.out" 2>"$4.err"
]]

local reference -- the uninterrupted run: {weights, history}

local function fit_dir()
  local d = tmpdir()
  loupe.write_file(d .. "/fit.lua", FIT)
  loupe.write_file(d .. "/interrupt.sh", INTERRUPT)
  loupe.write_file(d .. "/resume.sh", RESUME)
  return d
end

local function load_result(path)
  local w, meta = loupe.load(path)
  return {weights = w, history = meta.history}
end

local function get_reference()
  if reference then return reference end
  local d = fit_dir()
  local code = sh(d .. "/resume.sh", host, d .. "/fit.lua", d .. "/ref.ckpt", d .. "/ref.out")
  T.eq(code, 0, "the uninterrupted run: " .. tostring(readfile(d .. "/ref.out.err")))
  reference = load_result(d .. "/ref.out")
  rmdir(d)
  return reference
end

local function interrupted_fit_resumes(sig)
  local ref = get_reference()
  local d = fit_dir()
  local ckpt = d .. "/run.ckpt"
  local code = sh(d .. "/interrupt.sh", host, d .. "/fit.lua", ckpt, d .. "/run.out", sig)
  local err = readfile(d .. "/run.out.err") or ""
  T.eq(code, 1, "exit status after SIG" .. sig .. ": " .. err)
  T.truthy(err:find("interrupted", 1, true), "the error says interrupted: " .. err)
  T.eq(readfile(d .. "/run.out.out"), "", "the run did not finish")
  -- the checkpoint is whole and holds complete epochs only
  local _, meta = loupe.load(ckpt)
  local epoch = tonumber(meta.epoch)
  T.truthy(epoch >= 1 and epoch < 3, "checkpoint after epoch " .. tostring(meta.epoch))
  T.truthy(meta["history." .. epoch .. ".train/loss"], "the history of epoch " .. epoch)
  T.eq(meta["history." .. (epoch + 1) .. ".train/loss"], nil, "no history past the checkpoint")
  T.eq(listdir(d), "fit.lua,interrupt.sh,resume.sh,run.ckpt,run.out.err,run.out.out",
       "no temporary files")
  -- resume to the end: bit-identical to the uninterrupted run
  code = sh(d .. "/resume.sh", host, d .. "/fit.lua", ckpt, d .. "/run.out")
  T.eq(code, 0, "the resumed run: " .. tostring(readfile(d .. "/run.out.err")))
  local got = load_result(d .. "/run.out")
  T.eq(got.history, ref.history, "history")
  local n = 0
  for k, t in pairs(ref.weights) do
    T.truthy(got.weights[k] and got.weights[k]:equal(t), "weights " .. k .. " bit-identical")
    n = n + 1
  end
  T.eq(n, 4, "four weight tensors")
  rmdir(d)
end

local tests = {}

function tests.fit_interrupted_by_sigint_resumes_bit_identically()
  interrupted_fit_resumes("INT")
end

function tests.fit_interrupted_by_sigterm_resumes_bit_identically()
  interrupted_fit_resumes("TERM")
end

-- evaluate switches the model to eval mode; an error or an interrupt in its loop (here a
-- failing metric) must not leave it there.
function tests.evaluate_restores_the_train_mode_when_stopped()
  local model = loupe.nn.Sequential(loupe.nn.Linear(2, 3), loupe.nn.Dropout(0.5))
  model:train()
  local ds = {x = loupe.randn(8, 2), y = loupe.randint(1, 4, {8})}
  T.raises(function()
    loupe.train.evaluate(model, ds, {metrics = {bad = function() error("stop here") end}})
  end, "stop here")
  T.eq(model.training, true)
  T.eq(loupe.is_grad_enabled(), true)
end

-- ---- scripts ----

-- Runs a script file under a shell snippet (given $1 = host, $2 = the script, $3 = a folder);
-- returns the exit status, stdout and stderr of the snippet.
local function run_snippet(script, snippet)
  local d = tmpdir()
  loupe.write_file(d .. "/script.lua", script)
  loupe.write_file(d .. "/run.sh", snippet)
  local code = sh(d .. "/run.sh", host, d .. "/script.lua", d)
  return code, readfile(d .. "/out.txt") or "", readfile(d .. "/err.txt") or "", d
end

-- A C loop inside loupe.uninterruptible does not see the signal, nor does the Lua code; the
-- section raises "interrupted" when its function returns; outside, C loops stop.
function tests.uninterruptible_holds_the_signal_until_the_end()
  local code, out, err, d = run_snippet([[
local loupe = require "loupe"
local pid = io.open("/proc/self/stat"):read("n")
local a, b = loupe.randn(64, 32, 32), loupe.randn(64, 32, 32)
local steps = 0
local ok, e = pcall(loupe.uninterruptible, function()
  os.execute("kill -TERM " .. pid)
  local t = loupe.clock()
  while loupe.clock() - t < 0.3 do steps = steps + 1 end
  assert(a:bmm(b):size(1) == 64) -- the C loop ran to the end
  steps = -steps
end)
print(ok, e:match("interrupted$") ~= nil, steps < 0)
local ok2, e2 = pcall(a.bmm, a, b)
print(ok2, e2)
]], [[
"$1" "$2" >"$3/out.txt" 2>"$3/err.txt"
]])
  T.eq(code, 0, err)
  T.eq(out, "false\ttrue\ttrue\nfalse\tbmm: interrupted\n", err)
  rmdir(d)
end

-- SIGTERM stops an experiment like Ctrl-C: ex:run still writes metrics.json, the error says
-- interrupted, the status is 1.
function tests.sigterm_stops_an_experiment_and_keeps_its_metrics()
  local code, out, err, d = run_snippet([[
local loupe = require "loupe"
local ex = loupe.experiment.new("slow", {out = arg[1]})
ex:run(function()
  ex:metric("started", true)
  ex:log("started")
  local t = loupe.clock()
  while loupe.clock() - t < 30 do end
  ex:metric("finished", true)
end)
]], [[
"$1" "$2" "$3/ex" >"$3/out.txt" 2>"$3/err.txt" &
pid=$!
until grep -q started "$3/out.txt" 2>/dev/null; do sleep 0.01; done
kill -TERM $pid
wait $pid
]])
  T.eq(code, 1, err)
  T.truthy(err:find("interrupted", 1, true), err)
  T.eq(out, "started\n")
  local m = json.decode(readfile(d .. "/ex/metrics.json"))
  T.eq(m.started, true)
  T.eq(m.finished, nil)
  rmdir(d)
end

-- Two SIGTERMs at once (the group's and `loupe run`'s) are one request; one more, later,
-- kills a script that swallowed the first in a pcall.
function tests.a_second_sigterm_kills()
  local code, out, err, d = run_snippet([[
local n = 0
while true do
  pcall(function() while true do end end)
  n = n + 1
  print("caught " .. n)
  io.stdout:flush()
end
]], [[
"$1" "$2" >"$3/out.txt" 2>"$3/err.txt" &
pid=$!
sleep 0.3
kill -TERM $pid; kill -TERM $pid
until grep -q caught "$3/out.txt" 2>/dev/null; do sleep 0.01; done
sleep 1.2
kill -0 $pid && echo alive >>"$3/out.txt"
kill -TERM $pid
exec 2>/dev/null # not the shell's "Terminated"
wait $pid
]])
  T.eq(code, 128 + 15, "killed by the later SIGTERM: " .. err)
  T.eq(out, "caught 1\nalive\n")
  rmdir(d)
end

-- ---- loupe run ----

local SLOW_EXPERIMENT = [[
local loupe = require "loupe"
local ex = loupe.experiment.new()
ex:run(function()
  ex:metric("started", true)
  ex:log("slow: started")
  local t = loupe.clock()
  while loupe.clock() - t < 60 do end
end)
]]

-- run.sh HOST DIR GROUP: `loupe run` in a session of its own, SIGTERM once the experiment
-- has started, to the runner alone (GROUP = 0) or to its whole process group.
local RUN_TERM = [[
setsid "$1" run "$2/exps" --out "$2/run" >"$2/out.txt" 2>&1 &
pid=$!
i=0
until grep -q started "$2/run/a_slow/log.txt" 2>/dev/null || [ $i -ge 2000 ]; do
  sleep 0.01
  i=$((i + 1))
done
if [ "$3" = 1 ]; then kill -TERM -$pid; else kill -TERM $pid; fi
wait $pid
]]

local function runner_sigterm(group)
  local d = tmpdir()
  loupe.mkdir(d .. "/exps")
  loupe.write_file(d .. "/exps/a_slow.lua", SLOW_EXPERIMENT)
  loupe.write_file(d .. "/exps/b_good.lua", readfile("tests/fixtures/experiments/good.lua"))
  loupe.write_file(d .. "/run.sh", RUN_TERM)
  local t0 = loupe.clock()
  local code = sh(d .. "/run.sh", host, d, group and "1" or "0")
  local out = readfile(d .. "/out.txt") or ""
  T.eq(code, 143, out)
  T.truthy(loupe.clock() - t0 < 30, "stopped before the experiment's 60 s")
  T.truthy(out:find("1 skipped (terminated)", 1, true), out)
  local s = json.decode(readfile(d .. "/run/summary.json"))
  T.eq(s.experiments[1].status, "failed")
  T.eq(s.experiments[1].detail, "terminated")
  T.eq(s.experiments[2].status, "skipped")
  -- the experiment stopped at a safe point (not killed): its error handler wrote metrics.json
  local log = readfile(d .. "/run/a_slow/log.txt")
  T.truthy(log:find("interrupted", 1, true), log)
  T.eq(json.decode(readfile(d .. "/run/a_slow/metrics.json")).started, true)
  rmdir(d)
end

function tests.runner_passes_sigterm_on_and_exits_143()
  runner_sigterm(false)
end

function tests.runner_and_experiment_both_get_sigterm()
  runner_sigterm(true)
end

return tests
