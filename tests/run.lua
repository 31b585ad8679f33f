-- tests/run.lua — the Lua test runner: ./loupe tests/run.lua [FILE...]
-- Each test file returns a table of test functions (name -> function). Every test runs under
-- pcall with a traceback; the runner prints one line per failure and ends with
-- "lua: N passed, N failed". Files default to tests/lua/test_*.lua.
package.path = "tests/lua/?.lua;" .. package.path

local files = {}
for i = 1, #arg do files[#files + 1] = arg[i] end
if #files == 0 then
  local p = io.popen("ls tests/lua/test_*.lua")
  for f in p:lines() do files[#files + 1] = f end
  p:close()
end

local passed, failed = 0, 0
for _, file in ipairs(files) do
  local chunk, err = loadfile(file)
  local ok, tests = false, err
  if chunk then ok, tests = xpcall(chunk, debug.traceback) end
  if not ok or type(tests) ~= "table" then
    failed = failed + 1
    print(("FAIL %s (loading): %s"):format(file, tostring(tests)))
  else
    local names = {}
    for name in pairs(tests) do names[#names + 1] = name end
    table.sort(names)
    for _, name in ipairs(names) do
      local t0 = os.clock()
      local okt, msg = xpcall(tests[name], debug.traceback)
      collectgarbage()
      if okt then
        passed = passed + 1
        if os.getenv("VERBOSE") then print(("ok   %s: %s (%.2fs)"):format(file, name, os.clock() - t0)) end
      else
        failed = failed + 1
        print(("FAIL %s: %s\n%s"):format(file, name, msg))
      end
    end
  end
end
print(("lua: %d passed, %d failed"):format(passed, failed))
os.exit(failed == 0 and 0 or 1)
