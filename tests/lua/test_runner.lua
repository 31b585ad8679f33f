-- test_runner.lua — `loupe run`, the batch runner, on the fixture experiments in
-- tests/fixtures/experiments/ (good: metrics and two figures; broken: raises an error after a
-- metric; crash: os.exit(3); killed: dies from SIGKILL): statuses and exit codes, one
-- failure not stopping the others, logs, metrics.json, summary.json, index.html with
-- relative links only, --only, --quick, files as arguments, the default run folder, stale
-- outputs, and the report rendered by headless Chromium (when installed).
local loupe = require "loupe"
local T = require "testlib"
local json = loupe.json

local host = os.getenv("LOUPE") or "./loupe"
local FIXTURES = "tests/fixtures/experiments"

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  loupe.mkdir(d)
  return d
end

local function readfile(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function exists(path) return readfile(path) ~= nil end

-- Runs a shell command; returns stdout, stderr and the exit status.
local function sh(cmd)
  local out, err = os.tmpname(), os.tmpname()
  local _, how, code = os.execute(("%s >%s 2>%s"):format(cmd, q(out), q(err)))
  local so, se = readfile(out), readfile(err)
  os.remove(out)
  os.remove(err)
  if how == "signal" then error(("`%s` was killed by signal %d"):format(cmd, code), 2) end
  return so, se, code
end

local function loupe_run(args, env)
  return sh((env and env .. " " or "") .. q(host) .. " run " .. args)
end

local function cwd()
  local p = io.popen("pwd")
  local d = p:read("l")
  p:close()
  return d
end

local function abs_host()
  return host:sub(1, 1) == "/" and host or cwd() .. "/" .. host
end

-- One full run of the fixtures, shared by the tests that only read its results.
local shared
local function full_run()
  if not shared then
    local dir = tmpdir() .. "/run"
    local out, err, code = loupe_run(FIXTURES .. " --out " .. q(dir))
    shared = {dir = dir, out = out, err = err, code = code}
  end
  return shared
end

local tests = {}

function tests.statuses_and_exit_code()
  local r = full_run()
  T.eq(r.code, 1, "one failed, so the run fails:\n" .. r.out .. r.err)
  T.truthy(r.out:find("4 experiments", 1, true), r.out)
  -- every experiment ran, in name order, though the ones before failed
  local order = {}
  for name, status in r.out:gmatch("%[%d/4%] (%a+) +(%u*%l*)") do order[#order + 1] = name .. "=" .. status end
  T.eq(table.concat(order, " "), "broken=FAILED crash=FAILED good=ok killed=FAILED", r.out)
  T.truthy(r.out:find("exit status 1", 1, true))
  T.truthy(r.out:find("exit status 3", 1, true))
  T.truthy(r.out:find("killed by signal 9", 1, true))
  T.truthy(r.out:find("1 ok, 3 failed", 1, true), r.out)
  T.truthy(r.out:find("report: " .. r.dir .. "/index.html", 1, true), r.out)
end

function tests.logs_capture_stdout_and_stderr()
  local r = full_run()
  local broken = readfile(r.dir .. "/broken/log.txt")
  T.truthy(broken:find("about to fail", 1, true) and broken:find("broken on purpose", 1, true), broken)
  T.eq(select(2, broken:gsub("stack traceback", "")), 1, "one traceback, not two:\n" .. broken)
  T.truthy(readfile(r.dir .. "/crash/log.txt"):find("leaving with status 3", 1, true))
  T.truthy(readfile(r.dir .. "/killed/log.txt"):find("sending SIGKILL", 1, true))
  T.truthy(readfile(r.dir .. "/good/log.txt"):find("good: quick =\tfalse", 1, true))
end

function tests.metrics_json()
  local r = full_run()
  local text = readfile(r.dir .. "/good/metrics.json")
  -- by pattern, independently of the decoder
  T.truthy(text:find('"accuracy": 0.975', 1, true), text)
  T.truthy(text:find('"not_a_number": null', 1, true), text)
  T.truthy(text:find('"label": "say \\"hi\\"\\n<b>"', 1, true), text)
  local m = json.decode(text)
  T.eq(m.accuracy, 0.975)
  T.eq(m.quick, false)
  T.eq(m.size, 48)
  T.eq(#m.per_class, 3)
  T.eq(m.split.val, 0.95)
  T.eq(table.concat(json.keys(m), ","), "accuracy,quick,size,per_class,not_a_number,label,split")
  -- the error path still wrote what was recorded; os.exit before finish wrote nothing
  T.eq(json.decode(readfile(r.dir .. "/broken/metrics.json")).reached, 1)
  T.eq(exists(r.dir .. "/crash/metrics.json"), false)
end

function tests.summary_json()
  local r = full_run()
  local s = json.decode(readfile(r.dir .. "/summary.json"))
  T.eq(#s.experiments, 4)
  local by = {}
  for _, e in ipairs(s.experiments) do by[e.name] = e end
  T.eq(by.good.status, "ok")
  T.eq(by.broken.status, "failed")
  T.eq(by.crash.detail, "exit status 3")
  T.truthy(by.killed.detail:find("^killed by signal 9"), by.killed.detail)
  T.eq(type(by.good.seconds), "number")
  T.eq(table.concat(by.good.figures, ","), "halves.png,square.svg", "in the order they were made")
  T.eq(by.good.metrics.accuracy, 0.975)
  T.eq(by.good.file, FIXTURES .. "/good.lua")
end

function tests.report_html()
  local r = full_run()
  local page = readfile(r.dir .. "/index.html")
  T.truthy(page:find("^<!DOCTYPE html>"), "an HTML page")
  T.truthy(page:find('<img src="good/halves.png"', 1, true), "PNG figure linked relatively")
  T.truthy(page:find('<img src="good/square.svg"', 1, true), "SVG figure linked relatively")
  T.truthy(page:find('href="broken/log.txt"', 1, true))
  -- relative links only: no absolute paths, no schemes, nothing of the temporary folder
  for attr, link in page:gmatch('(%a+)="([^"]*)"') do
    if attr == "src" or attr == "href" then
      T.truthy(not link:find("^/") and not link:find("^%a+:") and not link:find(r.dir, 1, true),
               ("%s=%q is not a relative link"):format(attr, link))
    end
  end
  T.truthy(not page:find("<script", 1, true), "no scripts")
  T.truthy(not page:find("https?://"), "no external assets")
  -- statuses, metrics, the failed experiment's log tail, HTML escaping
  T.truthy(page:find('class="badge ok">ok<', 1, true))
  T.eq(select(2, page:gsub('class="badge failed">failed<', "")), 3 * 2, "summary row and section")
  T.truthy(page:find("<td>accuracy</td><td class=\"num\">0.975</td>", 1, true), "metrics table")
  T.truthy(page:find("<td>split.val</td>", 1, true), "nested metrics flattened")
  T.truthy(page:find("say &quot;hi&quot;", 1, true) and page:find("&lt;b&gt;", 1, true), "escaped")
  T.truthy(page:find("broken on purpose", 1, true), "the log tail of a failure")
  T.truthy(page:find("exit status 3", 1, true))
end

function tests.only_and_quick()
  local dir = tmpdir()
  local out, err, code = loupe_run(FIXTURES .. " --only good --quick --out " .. q(dir))
  T.eq(code, 0, out .. err)
  T.truthy(out:find("1 experiment (quick)", 1, true), out)
  T.eq(exists(dir .. "/broken/log.txt"), false, "the others did not run")
  local m = json.decode(readfile(dir .. "/good/metrics.json"))
  T.eq(m.quick, true, "--quick reached the experiment")
  T.eq(m.size, 32, "its quick default applied")
  local s = json.decode(readfile(dir .. "/summary.json"))
  T.eq(#s.experiments, 1)
  T.eq(s.quick, true)
  -- the --opt=value forms
  out, err, code = loupe_run(FIXTURES .. " --only=crash --out=" .. q(dir))
  T.eq(code, 1, out .. err)
  os.execute("rm -rf " .. q(dir))
end

function tests.usage_errors()
  local out, err, code = loupe_run(FIXTURES .. " --only nope --out /tmp/unused-loupe-run")
  T.eq(code, 2)
  T.truthy(err:find("no experiment named 'nope'; available: broken, crash, good, killed", 1, true), err)
  T.eq(exists("/tmp/unused-loupe-run/index.html"), false)
  out, err, code = loupe_run("--bogus")
  T.eq(code, 2)
  T.truthy(err:find("unrecognized option '--bogus'", 1, true) and err:find("usage:", 1, true), err)
  out, err, code = loupe_run("--out")
  T.eq(code, 2)
  T.truthy(err:find("'--out' needs an argument", 1, true), err)
  out, err, code = loupe_run("no/such/folder")
  T.eq(code, 2)
  T.truthy(err:find("'no/such/folder': No such file or directory", 1, true), err)
  out, err, code = loupe_run("--help")
  T.eq(code, 0)
  T.truthy(out:find("--only NAME", 1, true), out)
  local d = tmpdir()
  out, err, code = sh(("cd %s && %s run"):format(q(d), q(abs_host())))
  T.eq(code, 2)
  T.truthy(err:find("no experiments/ folder here", 1, true), err)
  -- two experiments with one name
  loupe.mkdir(d .. "/a")
  loupe.write_file(d .. "/a/good.lua", "")
  out, err, code = loupe_run(("%s/good.lua %s/a"):format(FIXTURES, q(d)))
  T.eq(code, 2)
  T.truthy(err:find("two experiments are named 'good'", 1, true), err)
  os.execute("rm -rf " .. q(d))
end

-- Files as arguments run in the order given; stale outputs of an earlier run into the same
-- folder are removed, other files (checkpoints) kept.
function tests.files_in_order_and_stale_outputs()
  local dir = tmpdir()
  loupe.mkdir(dir .. "/good")
  loupe.write_file(dir .. "/good/stale.png", "old")
  loupe.write_file(dir .. "/good/model.safetensors", "keep")
  local out, err, code = loupe_run(("%s/good.lua %s/crash.lua --out %s"):format(FIXTURES, FIXTURES, q(dir)))
  T.eq(code, 1, out .. err)
  T.truthy(out:find("%[1/2%] good +ok") and out:find("%[2/2%] crash +FAILED"), out)
  T.eq(exists(dir .. "/good/stale.png"), false, "stale figure removed")
  T.eq(readfile(dir .. "/good/model.safetensors"), "keep")
  T.truthy(not readfile(dir .. "/index.html"):find("stale.png", 1, true))
  os.execute("rm -rf " .. q(dir))
end

-- Without --out: out/run-<date>T<time>/ under the working folder, experiments/ by default.
function tests.default_run_folder()
  local d = tmpdir()
  loupe.mkdir(d .. "/experiments")
  loupe.write_file(d .. "/experiments/good.lua", readfile(FIXTURES .. "/good.lua"))
  loupe.write_file(d .. "/experiments/.hidden.lua", "error('must not run')")
  loupe.write_file(d .. "/experiments/notes.txt", "not an experiment")
  local out, err, code = sh(("cd %s && %s run"):format(q(d), q(abs_host())))
  T.eq(code, 0, out .. err)
  local run_dir = out:match("report: (out/run%-%d%d%d%d%-%d%d%-%d%dT%d%d%-%d%d%-%d%d[%-%d]*)/index.html")
  T.truthy(run_dir, "a dated run folder: " .. out)
  T.truthy(exists(d .. "/" .. run_dir .. "/good/halves.png"))
  T.truthy(out:find("1 experiment ", 1, true), out)
  -- a second run in the same second gets a folder of its own
  local out2 = sh(("cd %s && %s run"):format(q(d), q(abs_host())))
  T.truthy(out2:match("report: (out/run%-[%dT%-]+)/index.html") ~= run_dir, out2)
  os.execute("rm -rf " .. q(d))
end

-- Ctrl-C (SIGINT to the whole process group, as a terminal sends it, once the experiment has
-- started): the running experiment stops, the rest are skipped, the report says so, the
-- status is 130. The runner runs in a session of its own, with SIGINT back to its default
-- (a background job of a script starts with it ignored).
function tests.interrupt_stops_the_run()
  local d = tmpdir()
  loupe.mkdir(d .. "/exps")
  loupe.write_file(d .. "/exps/a_slow.lua", [[
local loupe = require "loupe"
print("slow: started")
io.stdout:flush()
local t = loupe.clock()
while loupe.clock() - t < 60 do end
]])
  loupe.write_file(d .. "/exps/b_good.lua", readfile(FIXTURES .. "/good.lua"))
  loupe.write_file(d .. "/int.sh", [[
setsid env --default-signal=INT "$1" run "$2/exps" --out "$2/run" >"$2/out.txt" 2>&1 &
pid=$!
i=0
until grep -q started "$2/run/a_slow/log.txt" 2>/dev/null || [ $i -ge 1200 ]; do
  sleep 0.05
  i=$((i + 1))
done
kill -INT -$pid
wait $pid
]])
  local t0 = loupe.clock()
  local _, err, code = sh(("sh %s %s %s"):format(q(d .. "/int.sh"), q(host), q(d)))
  local out = readfile(d .. "/out.txt") or ""
  T.eq(code, 130, out .. err)
  T.truthy(loupe.clock() - t0 < 50, "stopped before the experiment's 60 s")
  T.truthy(out:find("1 skipped (interrupted)", 1, true), out)
  local s = json.decode(readfile(d .. "/run/summary.json"))
  T.eq(s.experiments[1].status, "failed")
  T.eq(s.experiments[1].detail, "interrupted")
  T.eq(s.experiments[2].status, "skipped")
  local log = readfile(d .. "/run/a_slow/log.txt")
  T.truthy(log:find("interrupted", 1, true), log)
  T.truthy(readfile(d .. "/run/index.html"):find('class="badge skipped"', 1, true))
  os.execute("rm -rf " .. q(d))
end

-- ---- the report in a browser ----

local function chromium()
  for _, name in ipairs{"chromium", "chromium-browser"} do
    local p = io.popen("command -v " .. name .. " 2>/dev/null")
    local path = p:read("l")
    p:close()
    if path and path ~= "" then return path end
  end
end

-- Fraction of the pixels of img (3xHxW in [0,1]) within tol of the colour rgb (0..255).
local function colour_pixels(img, rgb, tol)
  local d = (img[1] - rgb[1] / 255):abs():maximum((img[2] - rgb[2] / 255):abs())
                                      :maximum((img[3] - rgb[3] / 255):abs())
  return d:le(tol / 255):float():sum():item()
end

-- Renders the report with headless Chromium and checks the screenshot shows the figures:
-- the red and blue halves of good/halves.png and the green square of good/square.svg.
function tests.report_screenshot()
  local browser = chromium()
  if not browser then
    print("SKIP report screenshot: chromium not installed")
    return
  end
  local r = full_run()
  local profile = tmpdir()
  local shot = profile .. "/shot.png"
  local cmd = ("timeout 120 %s --headless --no-sandbox --disable-gpu --no-first-run " ..
               "--disable-background-networking --disable-component-update --disable-sync " ..
               "--user-data-dir=%s --screenshot=%s --window-size=1200,2400 %s"):format(
    q(browser), q(profile .. "/profile"), q(shot), q("file://" .. r.dir .. "/index.html"))
  local out, err, code = sh(cmd)
  T.eq(code, 0, out .. err)
  local img = loupe.image.load(shot)
  T.eq(table.concat(img:shape(), ","), "3,2400,1200")
  T.truthy(img:std():item() > 0.05, "the screenshot is not blank")
  -- pixels per figure: 48x48 for each half, 160x160 for the square (at scale 1)
  local red = colour_pixels(img, {230, 25, 25}, 12)
  local blue = colour_pixels(img, {25, 51, 230}, 12)
  local green = colour_pixels(img, {25, 180, 25}, 12)
  T.truthy(red > 0.8 * 48 * 48, "red half of halves.png shown: " .. red .. " pixels")
  T.truthy(blue > 0.8 * 48 * 48, "blue half of halves.png shown: " .. blue .. " pixels")
  T.truthy(green > 0.8 * 160 * 160, "green square of square.svg shown: " .. green .. " pixels")
  os.execute("rm -rf " .. q(profile))
end

return tests
