-- test_progress.lua — loupe.progress: the line formats (terminal and plain, called directly
-- with fixed numbers), redraw throttling with a fake clock and a fake file, nested bars,
-- write() above the bars, and loupe.train.fit's output: one plain line per epoch when stdout
-- is a file, bars on a pseudo-terminal (util-linux `script`), plain lines with
-- LOUPE_PROGRESS=0.
local loupe = require "loupe"
local T = require "testlib"
local progress = loupe.progress

local host = os.getenv("LOUPE") or "./loupe"

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

-- A file that records what is written.
local function sink()
  local f = {parts = {}, writes = 0}
  function f:write(...)
    self.writes = self.writes + 1
    for _, s in ipairs{...} do self.parts[#self.parts + 1] = s end
    return self
  end
  function f:flush() end
  function f:text() return table.concat(self.parts) end
  return f
end

local function fake_clock(t0)
  local c = {t = t0 or 100}
  return c, function() return c.t end
end

local function count(s, pat)
  local n = 0
  for _ in s:gmatch(pat) do n = n + 1 end
  return n
end

local function run(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("a")
  local ok, _, code = p:close()
  return out, ok and 0 or code
end

local function tmpfile(contents)
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(contents)
  f:close()
  return path
end

-- A tiny fit: 2 epochs of a linear model on separable points.
local FIT_SCRIPT = [[
local loupe = require "loupe"
loupe.manual_seed(3)
local x = loupe.randn(64, 2)
local y = {}
for i = 1, 64 do y[i] = x[{i, 1}]:item() > 0 and 2 or 1 end
local ds = {x = x, y = loupe.tensor(y, "int64")}
loupe.train.fit(loupe.nn.Linear(2, 2), ds, ds, {epochs = 2, batch_size = 16})
print("fit done")
]]

local tests = {}

function tests.format_time()
  T.eq(progress.format_time(0), "00:00")
  T.eq(progress.format_time(88.7), "01:28")
  T.eq(progress.format_time(3600 + 62), "1:01:02")
  T.eq(progress.format_time(nil), "?")
  T.eq(progress.format_time(1 / 0), "?")
  T.eq(progress.format_time(0 / 0), "?")
end

-- The issue's example line, exactly (width chosen so the bar gets 4 columns).
function tests.format_terminal_line_as_tqdm()
  local postfix = progress.format_postfix({{"train/loss", 1.721}, {"train/acc", 0.393},
                                           {"val/loss", 1.696}, {"val/acc", 0.403}})
  local want = "train/loss: 1.721, train/acc: 0.393, val/loss: 1.696, val/acc: 0.403: " ..
               "100%|████| 100/100 [01:28<00:00, 1.13it/s]"
  local line = progress.format{n = 100, total = 100, elapsed = 88, rate = 1.13, postfix = postfix,
                               width = utf8.len(want) + 1}
  T.eq(line, want)
end

function tests.format_bar_fills_width_with_partial_blocks()
  local line = progress.format{n = 45, total = 100, elapsed = 12, rate = 3.75, desc = "t-SNE", width = 80}
  T.eq(utf8.len(line), 79, "one column spare")
  local bar = line:match("|(.-)|")
  local w = utf8.len(bar)
  T.eq(line, "t-SNE:  45%|" .. bar .. "| 45/100 [00:12<00:14, 3.75it/s]")
  -- 45% of the bar: whole blocks, then one partial block, then spaces
  local full = select(2, bar:gsub("█", ""))
  T.eq(full, math.floor(0.45 * w))
  T.truthy(bar:find("[▏▎▍▌▋▊▉]"), "a partial block: " .. bar)
  T.eq(bar:sub(-1), " ")
  local ascii = progress.format{n = 5, total = 10, elapsed = 1, rate = 5, width = 60, ascii = true}
  T.truthy(ascii:match("^ 50%%|#+ +| 5/10 %[00:01<00:01, 5%.00it/s%]$"), ascii)
end

function tests.format_edge_cases()
  -- nothing done yet: unknown rate and remaining time
  T.eq(progress.format{n = 0, total = 20, elapsed = 0, width = 40},
       "  0%|" .. (" "):rep(40 - 1 - 28) .. "| 0/20 [00:00<?, ?it/s]")
  -- unknown total: count and rate only
  T.eq(progress.format{n = 12, elapsed = 3, rate = 4, desc = "features", unit = "img"},
       "features: 12 img [00:03, 4.00img/s]")
  -- slow loops show seconds per unit
  T.truthy(progress.format{n = 2, total = 10, elapsed = 5, rate = 0.4, width = 80}:find("2.50s/it]", 1, true))
  -- a long prefix is cut with an ellipsis; the line still fits
  local long = ("x"):rep(200)
  local line = progress.format{n = 1, total = 2, elapsed = 1, rate = 1, desc = long, width = 60}
  T.eq(utf8.len(line), 59)
  T.truthy(line:find("…: ", 1, true), line)
  -- past the total: clamped bar
  T.truthy(progress.format{n = 12, total = 10, elapsed = 1, rate = 12, width = 50}:find("^100%%|"))
end

function tests.format_plain_line()
  T.eq(progress.format{n = 45, total = 100, elapsed = 12, rate = 3.75, desc = "t-SNE",
                       postfix = "kl: 1.200", plain = true},
       "t-SNE: kl: 1.200:  45% 45/100 [00:12<00:14, 3.75it/s]")
end

function tests.postfix_forms()
  T.eq(progress.format_postfix(nil), "")
  T.eq(progress.format_postfix("as is"), "as is")
  T.eq(progress.format_postfix({{"b", 2}, {"a", 0.5}}), "b: 2, a: 0.500")
  T.eq(progress.format_postfix({b = 1.5, a = "x"}), "a: x, b: 1.500")
  T.eq(progress.format_postfix(function() return {{"lazy", 1e-5}} end), "lazy: 1e-05")
  T.eq(progress.format_postfix({{"big", 123456.0}, {"t", loupe.tensor(0.25)}}), "big: 1.23e+05, t: 0.250")
end

-- At most one redraw per mininterval however often update is called; the final state is
-- drawn on close and left on its own line.
function tests.terminal_redraws_are_throttled()
  local c, clock = fake_clock()
  local f = sink()
  local p = progress.new{total = 1000, file = f, tty = true, clock = clock, width = 80}
  T.eq(f.writes, 1, "drawn once when created")
  local t0 = c.t
  for i = 1, 1000 do
    c.t = t0 + i / 1000 -- 1000 updates over one second
    p:update(1, {{"loss", 0.5}})
  end
  local draws = count(f:text(), "\r")
  T.truthy(draws >= 10 and draws <= 12, "about 10 redraws in 1 s at 10 Hz, got " .. draws)
  p:close()
  p:close() -- idempotent
  local text = f:text()
  T.truthy(text:find("loss: 0.500: 100%%|.-| 1000/1000 %[00:01<00:00, 1000.00it/s%]\27%[K\n$"), text:sub(-120))
end

function tests.plain_lines_at_most_every_interval()
  local c, clock = fake_clock()
  local f = sink()
  local p = progress.new{total = 100, desc = "extract", file = f, tty = false, clock = clock,
                         plain_interval = 30}
  for _ = 1, 100 do
    c.t = c.t + 1
    p:update()
  end
  p:close()
  local lines = {}
  for line in f:text():gmatch("([^\n]*)\n") do lines[#lines + 1] = line end
  T.eq(#lines, 4, "at 30, 60 and 90 s, then the final line: " .. f:text())
  T.eq(lines[1], "extract:  30% 30/100 [00:30<01:10, 1.00it/s]")
  T.eq(lines[4], "extract: 100% 100/100 [01:40<00:00, 1.00it/s]")
  T.truthy(not f:text():find("\r", 1, true), "no carriage returns in plain output")
  -- a final line is not repeated when the last update just printed it
  local g = sink()
  local p2 = progress.new{total = 2, file = g, tty = false, clock = clock, plain_interval = 0}
  p2:update()
  p2:update()
  p2:close()
  T.eq(count(g:text(), "\n"), 2)
end

function tests.disabled_bar_prints_nothing()
  local f = sink()
  local p = progress.new{total = 3, file = f, tty = true, disable = true}
  p:update()
  p:close()
  T.eq(f.writes, 0)
end

function tests.resume_counts_rate_from_initial()
  local c, clock = fake_clock()
  local f = sink()
  local p = progress.new{total = 10, initial = 6, file = f, tty = false, clock = clock}
  c.t = c.t + 4
  p:update(2)
  p:close()
  T.eq(f:text(), " 80% 8/10 [00:04<00:04, 2.00s/it]\n")
end

-- An inner bar draws one line below the outer one and erases itself when closed; write()
-- clears the bars, prints the line and draws them again.
function tests.nested_bars_and_write()
  local _, clock = fake_clock()
  local f = sink()
  local outer = progress.new{total = 2, file = f, tty = true, clock = clock, width = 60}
  local inner = progress.new{total = 5, desc = "epoch 1", file = f, tty = true, clock = clock, width = 60}
  T.eq(inner.pos, 1)
  T.truthy(f:text():find("\n\repoch 1:", 1, true), "inner bar one line down")
  T.truthy(f:text():find("\27[K\27[A\r", 1, true), "cursor back up after the inner bar")
  local before = #f:text()
  progress.write("hello", f)
  local after = f:text():sub(before + 1)
  T.truthy(after:find("^\r\27%[Jhello\n\r"), after)
  T.truthy(after:find("epoch 1:", 1, true), "bars redrawn after the line")
  inner:close()
  T.truthy(f:text():sub(-12):find("\n\r\27[K\27[A\r", 1, true), "inner erased")
  local third = progress.new{total = 1, file = f, tty = true, clock = clock, width = 60}
  T.eq(third.pos, 1, "the freed row is reused")
  third:close()
  outer:close()
  T.eq(f:text():sub(-1), "\n")
end

function tests.close_runs_on_error_with_to_be_closed_variable()
  local f = sink()
  local ok = pcall(function()
    local p <close> = progress.new{total = 3, file = f, tty = true, width = 40}
    p:update()
    error("boom")
  end)
  T.eq(ok, false)
  T.eq(f:text():sub(-1), "\n", "the bar was closed")
  local g = sink()
  local again = progress.new{total = 1, file = g, tty = true}
  T.eq(again.pos, 0, "no stale open bar left behind")
  again:close()
end

function tests.new_checks_options()
  T.raises(function() progress.new{total = -1} end, "total must be a non-negative number")
  T.raises(function() progress.new("x") end, "options must be a table")
end

-- Overhead of update in a hot loop (recorded by the report; the bound is loose so a loaded
-- machine does not fail it).
function tests.update_is_cheap()
  local f = sink()
  local p = progress.new{total = 1e5, file = f, tty = true, width = 100}
  local t = loupe.clock()
  for _ = 1, 1e5 do p:update(1) end
  local per = (loupe.clock() - t) / 1e5
  p:close()
  T.truthy(per < 5e-6, ("update costs %.0f ns"):format(per * 1e9))
end

-- fit with stdout to a file: exactly one plain line per epoch, no bar characters.
function tests.fit_plain_lines_when_not_a_terminal()
  local script = tmpfile(FIT_SCRIPT)
  local out, code = run(("%s %s"):format(q(host), q(script)))
  os.remove(script)
  T.eq(code, 0, out)
  local lines = {}
  for line in out:gmatch("[^\n]+") do
    if line:find("^epoch") then lines[#lines + 1] = line end
  end
  T.eq(#lines, 2, out)
  T.truthy(lines[1]:match("^epoch 1/2  train/loss %d%.%d+  train/acc %d%.%d+  val/loss %d%.%d+  val/acc %d%.%d+  %d+%.%ds$"), lines[1])
  T.truthy(lines[2]:match("^epoch 2/2 "), lines[2])
  T.truthy(not out:find("|", 1, true) and not out:find("\r", 1, true), out)
end

local function has_script()
  local _, code = run("script --version")
  return code == 0
end

-- On a pseudo-terminal: the epoch bar with the metrics, no per-epoch lines; LOUPE_PROGRESS=0
-- gives the plain lines back.
function tests.fit_bar_on_a_terminal()
  if not has_script() then
    print("SKIP fit on a terminal: util-linux script not installed")
    return
  end
  local script = tmpfile(FIT_SCRIPT)
  -- a wide terminal, so the four metrics are not cut
  local cmd = ("script -qfec %s /dev/null"):format(q(("stty cols 200; exec %s %s"):format(q(host), q(script))))
  local out, code = run(cmd)
  local plain = run("LOUPE_PROGRESS=0 " .. cmd)
  os.remove(script)
  T.eq(code, 0, out)
  T.truthy(out:find("train/loss: %d%.%d+, train/acc: %d%.%d+, val/loss: %d%.%d+, val/acc: %d%.%d+: 100%%|.-| 2/2 %["), out)
  T.truthy(not out:find("epoch 1/2  train/loss", 1, true), "no plain lines on a terminal")
  T.truthy(out:find("fit done", 1, true))
  T.truthy(plain:find("epoch 1/2  train/loss", 1, true) and not plain:find("100%|", 1, true), plain)
end

return tests
