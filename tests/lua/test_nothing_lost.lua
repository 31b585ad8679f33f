-- test_nothing_lost.lua — files loupe writes survive a kill -9 at any moment: a child rewrites
-- a safetensors file (loupe.save), a figure PNG (fig:save) and a JSON file
-- (loupe.write_file) in a loop, alternating between two contents, and is killed 30 times at
-- random moments; after each kill every file is whole and byte-equal to one of the two
-- contents (and parses), and at most one temporary per file, `<file>.loupe-tmp`, is left,
-- which the next write takes over. Also in-process: a stale temporary is reused and removed,
-- a symbolic or hard link planted under the temporary's name is never written through.
-- The writer is $LOUPE (default ./loupe).
local loupe = require "loupe"
local T = require "testlib"
local json = loupe.json

local host = os.getenv("LOUPE") or "./loupe"

local q = T.q
local readfile = T.readfile
local tmpdir = T.tmpdir

local function listdir(dir)
  local names = {}
  local p = io.popen("ls -A " .. q(dir))
  for n in p:lines() do names[#names + 1] = n end
  p:close()
  table.sort(names)
  return names
end

-- writer.lua REFS WORK MODE: the two contents of each file; MODE "refs" writes both to REFS
-- (t.1.safetensors, t.2.safetensors, ...) and the first to WORK; "loop" rewrites WORK's
-- files alternating 1, 2, 1, ... and prints "ready" after the first round; "once" writes
-- WORK's files once.
local WRITER = [[
local loupe = require "loupe"
local refs, work, mode = arg[1], arg[2], arg[3]
loupe.manual_seed(3)
local tensors = {loupe.randn(512, 512), loupe.randn(512, 512)}
local x = loupe.linspace(0, 6, 200)
local figs = {
  loupe.plot.figure{width = 400, height = 300, title = "one"}:line(x, x:sin()),
  loupe.plot.figure{width = 400, height = 300, title = "two"}:line(x, x:cos()),
}
local values = {}
for i = 1, 5000 do values[i] = i / 7 end
local texts = {loupe.json.encode{which = 1, values = values}, loupe.json.encode{which = 2}}
local function write(dir, k, tag)
  loupe.save(dir .. "/t" .. tag .. ".safetensors", {w = tensors[k]}, {which = tostring(k)})
  figs[k]:save(dir .. "/fig" .. tag .. ".png")
  loupe.write_file(dir .. "/m" .. tag .. ".json", texts[k])
end
if mode == "refs" then
  write(refs, 1, ".1")
  write(refs, 2, ".2")
  write(work, 1, "")
elseif mode == "once" then
  write(work, 2, "")
else
  local i = 0
  while true do
    write(work, i % 2 + 1, "")
    if i == 0 then print("ready") io.stdout:flush() end
    i = i + 1
  end
end
]]

-- kill.sh HOST WRITER REFS WORK DELAY: starts the loop, waits for its first round, lets it
-- run DELAY seconds more, kills it with SIGKILL.
local KILL = [[
rm -f "$4.ready"
"$1" "$2" "$3" "$4" loop >"$4.ready" 2>/dev/null &
pid=$!
i=0
until [ -s "$4.ready" ] || [ $i -ge 2000 ]; do sleep 0.005; i=$((i + 1)); done
sleep $5
kill -9 $pid
exec 2>/dev/null # not the shell's "Killed"
wait $pid
exit 0
]]

local FILES = {
  {name = "t.safetensors", ref = "t.%d.safetensors",
   parse = function(path) return loupe.load(path).w:size(1) == 512 end},
  {name = "fig.png", ref = "fig.%d.png",
   parse = function(path) return loupe.image.load(path):size(2) == 300 end},
  {name = "m.json", ref = "m.%d.json",
   parse = function(path) return json.decode(readfile(path)).which ~= nil end},
}

local tests = {}

function tests.kill_9_leaves_the_old_or_the_new_file()
  local d = tmpdir()
  local refs, work = d .. "/refs", d .. "/work"
  loupe.mkdir(refs)
  loupe.mkdir(work)
  loupe.write_file(d .. "/writer.lua", WRITER)
  loupe.write_file(d .. "/kill.sh", KILL)
  local function writer(mode)
    local ok = os.execute(("%s %s %s %s %s"):format(q(host), q(d .. "/writer.lua"), q(refs), q(work), mode))
    T.truthy(ok, "writer " .. mode)
  end
  writer("refs")
  local contents = {}
  for _, f in ipairs(FILES) do
    contents[f.name] = {readfile(refs .. "/" .. f.ref:format(1)), readfile(refs .. "/" .. f.ref:format(2))}
    T.truthy(contents[f.name][1] ~= contents[f.name][2], f.name .. ": two different contents")
  end
  local seen, leftovers = {}, 0
  math.randomseed(7)
  for kill = 1, 30 do
    local delay = math.random() * 0.15
    os.execute(("sh %s %s %s %s %s %.3f"):format(q(d .. "/kill.sh"), q(host), q(d .. "/writer.lua"),
                                                q(refs), q(work), delay))
    local names = {}
    for _, n in ipairs(listdir(work)) do names[n] = true end
    for _, f in ipairs(FILES) do
      local s = readfile(work .. "/" .. f.name)
      local which = s == contents[f.name][1] and 1 or s == contents[f.name][2] and 2 or nil
      T.truthy(which, ("kill %d (after %.3f s): %s is neither content (%s bytes)"):format(
        kill, delay, f.name, s and #s or "no"))
      seen[f.name .. which] = true
      T.truthy(f.parse(work .. "/" .. f.name), f.name .. " parses")
      names[f.name] = nil
      if names[f.name .. ".loupe-tmp"] then
        leftovers = leftovers + 1
        names[f.name .. ".loupe-tmp"] = nil
      end
    end
    T.eq(next(names), nil, "kill " .. kill .. ": no other files in " .. work)
  end
  for _, f in ipairs(FILES) do
    T.truthy(seen[f.name .. 1] and seen[f.name .. 2], f.name .. ": both contents seen after kills")
  end
  -- the next write takes the temporaries over: none left
  writer("once")
  T.eq(table.concat(listdir(work), ","), "fig.png,m.json,t.safetensors")
  os.execute("rm -rf " .. q(d))
end

function tests.a_stale_temporary_is_taken_over()
  local d = tmpdir()
  local path = d .. "/m.json"
  local f = io.open(path .. ".loupe-tmp", "wb")
  f:write(("x"):rep(100000)) -- longer than what comes: the old bytes must not survive
  f:close()
  loupe.write_file(path, "{}")
  T.eq(readfile(path), "{}")
  T.eq(table.concat(listdir(d), ","), "m.json")
  os.execute("rm -rf " .. q(d))
end

function tests.links_at_the_temporary_name_are_not_written_through()
  local d = tmpdir()
  local victim = d .. "/victim.txt"
  loupe.write_file(victim, "keep me")
  -- a symbolic link
  os.execute(("ln -s %s %s"):format(q(victim), q(d .. "/a.txt.loupe-tmp")))
  loupe.write_file(d .. "/a.txt", "new a")
  -- a hard link
  os.execute(("ln %s %s"):format(q(victim), q(d .. "/b.txt.loupe-tmp")))
  loupe.write_file(d .. "/b.txt", "new b")
  T.eq(readfile(victim), "keep me")
  T.eq(readfile(d .. "/a.txt"), "new a")
  T.eq(readfile(d .. "/b.txt"), "new b")
  T.eq(table.concat(listdir(d), ","), "a.txt,b.txt,victim.txt")
  os.execute("rm -rf " .. q(d))
end

function tests.a_missing_folder_is_an_error_naming_the_file()
  T.raises(function() loupe.write_file("/nonexistent-loupe-dir/x.json", "{}") end,
           "write_file: cannot create a temporary file next to '/nonexistent-loupe-dir/x.json'")
end

return tests
