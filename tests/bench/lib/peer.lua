-- peer.lua — runs a loupe benchmark and its PyTorch counterpart alternately in child
-- processes and reports medians and the ratio (the machine is shared and noisy, so the two
-- are interleaved rather than run back to back). Used by the *_vs_torch benchmarks.
local M = {}

local function median(xs)
  local s = {}
  for i, v in ipairs(xs) do s[i] = v end
  table.sort(s)
  local n = #s
  if n == 0 then return nil end
  return n % 2 == 1 and s[(n + 1) // 2] or (s[n // 2] + s[n // 2 + 1]) / 2
end
M.median = median

-- Every number printed after `key` in out.
local function values(out, key)
  local vs = {}
  for v in out:gmatch(key .. " ([%d%.]+)") do vs[#vs + 1] = tonumber(v) end
  return vs
end

-- Runs cmd, returns every number printed after `key`, the max_rss_kb line's value and the
-- whole output.
local function run(cmd, key)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("a")
  p:close()
  local times = values(out, key)
  if #times == 0 then error("benchmark command failed: " .. cmd .. "\n" .. out) end
  return times, tonumber(out:match("max_rss_kb (%d+)")), out
end

-- Appends every value of each `extra` key printed in out to into[key].
local function collect(into, out, extra)
  for _, key in ipairs(extra or {}) do
    into[key] = into[key] or {}
    for _, v in ipairs(values(out, key)) do table.insert(into[key], v) end
  end
end

local function report_extra(name, who, got, extra)
  for _, key in ipairs(extra or {}) do
    local m = median(got[key] or {})
    if m then print(("%s: %s median %s %.4f over %d runs"):format(name, who, key, m, #got[key])) end
  end
end

function M.torch_available()
  return os.execute("/usr/bin/python3 -c 'import torch, torchvision' >/dev/null 2>&1") == true
end

-- opts: name, key (e.g. "epoch_seconds"), loupe_cmd, torch_cmd, rounds, extra (other keys
-- both print, e.g. {"val_acc"}, whose medians are reported too)
function M.compare(opts)
  local lt, tt, lrss, trss = {}, {}, 0, 0
  local lx, tx = {}, {}
  local have_torch = M.torch_available()
  for _ = 1, opts.rounds or 3 do
    local t, rss, out = run(opts.loupe_cmd, opts.key)
    for _, v in ipairs(t) do lt[#lt + 1] = v end
    lrss = math.max(lrss, rss or 0)
    collect(lx, out, opts.extra)
    if have_torch then
      t, rss, out = run("OMP_WAIT_POLICY=passive " .. opts.torch_cmd, opts.key)
      for _, v in ipairs(t) do tt[#tt + 1] = v end
      trss = math.max(trss, rss or 0)
      collect(tx, out, opts.extra)
    end
  end
  local ml = median(lt)
  print(("%s: loupe median %.3f s over %d runs, peak RSS %.0f MB"):format(opts.name, ml, #lt, lrss / 1024))
  report_extra(opts.name, "loupe", lx, opts.extra)
  if have_torch then
    local mt = median(tt)
    print(("%s: PyTorch median %.3f s over %d runs, peak RSS %.0f MB"):format(opts.name, mt, #tt, trss / 1024))
    report_extra(opts.name, "PyTorch", tx, opts.extra)
    print(("%s: loupe / PyTorch time ratio %.2f (below 1 = loupe faster); RSS ratio %.2f"):format(
      opts.name, ml / mt, lrss / trss))
  else
    print(opts.name .. ": PyTorch counterpart skipped (python3-torch not available)")
  end
  return ml
end

-- Peak resident set of this process in kB (VmHWM).
function M.max_rss_kb()
  local f = io.open("/proc/self/status")
  local s = f:read("a")
  f:close()
  return tonumber(s:match("VmHWM:%s*(%d+)"))
end

return M
