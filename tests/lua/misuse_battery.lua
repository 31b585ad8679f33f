-- misuse_battery.lua — calls every public function of loupe with bad arguments; run by
-- test_misuse.lua in child processes (one per group, in parallel) and by make valgrind (every
-- group in one process).
--
--   loupe tests/lua/misuse_battery.lua GROUP LOG [quick]     GROUP: a group, or "all"
--   loupe tests/lua/misuse_battery.lua groups                lists the groups
--
-- Before each call the battery writes one line naming the function and its arguments to LOG
-- and flushes it, so when a call kills the process (a signal, an abort, a sanitizer report)
-- the last line of LOG names the culprit. Each call must return or raise a Lua error;
-- anything else ends the process and the parent reports it. At the end it prints
-- "battery GROUP: N calls, R returned, M raised Lua's own messages" (the last: "attempt to
-- index a nil value" and the like, errors that say nothing about the misuse; counted, not
-- failed).
--
-- Targets: the functions of the loupe table and of its sub-tables (loaded lazily, so each is
-- named here), tensor methods and metamethods, callable tables (classes, transforms), and the
-- methods of objects made fresh for each call (layers, models, optimizers, schedulers,
-- figures, progress bars, datasets, loaders, experiments); each function once per process.
-- Arguments: none, then each bad value alone, after one plausible leading argument, and after
-- two. The "templates" group starts from a call that works for each C-backed function (listed
-- in misuse_templates.lua) and makes each slot bad in turn (a positional argument, an option,
-- an entry of a list such as {h, w}), so the later checks and the kernels see bad values too;
-- "aliasing" calls every in-place method with its own tensor and views of it as arguments.
-- Bad values: nil, booleans, numbers (negative, fractional, 2^62, maxinteger, NaN, +-Inf),
-- strings (empty, a format string, a long one, a dtype name), tables (empty, a list, ragged,
-- cyclic, nested 200 deep), functions, a coroutine, a foreign userdata, and tensors: empty
-- [0], [0,3] and [3,0], 0-d, int64 and uint8 where float is expected, non-contiguous views
-- (transpose, expand, narrow along the last dimension, permute), NaN and Inf values, one that
-- requires grad, and one already freed. "quick" (for valgrind) takes a subset of the values
-- and of the leading arguments.
--
-- Exclusions (never called): see EXCLUDED below, with the reason. Nothing loupe exports
-- blocks on input (the REPL is the host's, not a function), so only slow ones are left out;
-- prints (progress bars, ex:log) go to the child's output. The child runs in a scratch folder
-- (file-writing functions write there), with LOUPE_DATA pointing at an empty folder (dataset
-- readers fail at once instead of reading 47 MB each time) and a lowered LOUPE_MAX_BYTES (a
-- call that asks for gigabytes fails instead of swapping).
--
-- Debugging: MISUSE_ONLY=text runs only the calls whose description contains text,
-- MISUSE_SLOW=seconds lists the calls slower than that (default 2), MISUSE_RAW=1 lists the
-- calls that raised Lua's own messages.
local loupe = require "loupe"

local group, log_path, quick = arg[1], arg[2], arg[3] == "quick"
assert(group == "groups" or (group and log_path), "usage: misuse_battery.lua GROUP LOG [quick]")
local log = assert(io.open(group == "groups" and "/dev/null" or log_path, "w"))
local devnull = assert(io.open("/dev/null", "w"))

-- Functions that are never called, and why.
local EXCLUDED = {
  -- building a full ImageNet-size network with default options takes seconds (minutes under
  -- valgrind) per call; their option checking is shared with the small models called here
  ["loupe.models.resnet50"] = "builds a 25M-parameter model per call (seconds each)",
  ["loupe.models.resnet34"] = "builds a 21M-parameter model per call (seconds each)",
  ["loupe.models.resnet18"] = "builds an 11M-parameter model per call",
  ["loupe.models.ResNet"] = "builds an 11M-parameter model per call",
  ["loupe.models.ResNet.__init"] = "builds an 11M-parameter model per call",
}

-- Called with one argument at most (f() and f(v)): each call with good options builds a full
-- SqueezeNet (16 ms, a second under valgrind), and leading arguments would make most calls do so.
local LIGHT = {
  ["loupe.models.squeezenet1_0"] = true, ["loupe.models.squeezenet1_1"] = true,
  ["loupe.models.SqueezeNet"] = true, ["loupe.models.SqueezeNet.__init"] = true,
}

-- ---- values ----

local function nested(depth)
  local t = {1}
  for _ = 1, depth do t = {t} end
  return t
end

local function freed()
  local t = loupe.ones(2, 3)
  t:free()
  return t
end

-- name -> factory; each call gets fresh values
local VALUES = {
  {"nil", function() return nil end},
  {"false", function() return false end},
  {"true", function() return true end},
  {"0", function() return 0 end},
  {"1", function() return 1 end},
  {"-1", function() return -1 end},
  {"3", function() return 3 end},
  {"1.5", function() return 1.5 end},
  {"-0.5", function() return -0.5 end},
  {"2^62", function() return 1 << 62 end},
  {"-2^62", function() return -(1 << 62) end},
  {"2^62 float", function() return 2.0 ^ 62 end},
  {"maxinteger", function() return math.maxinteger end},
  {"mininteger", function() return math.mininteger end},
  {"1e300", function() return 1e300 end},
  {"NaN", function() return 0 / 0 end},
  {"Inf", function() return math.huge end},
  {"-Inf", function() return -math.huge end},
  {"''", function() return "" end},
  {"'x'", function() return "x" end},
  {"'%s%n'", function() return "%s%n%s%n%d%s" end},
  {"long string", function() return ("a"):rep(5000) end},
  {"'float32'", function() return "float32" end},
  {"'int64'", function() return "int64" end},
  {"'-1'", function() return "-1" end},
  {"{}", function() return {} end},
  {"{1,2,3}", function() return {1, 2, 3} end},
  {"{-1}", function() return {-1} end},
  {"{2^62}", function() return {1 << 62} end},
  {"{NaN}", function() return {0 / 0} end},
  {"{{1,2},{3}}", function() return {{1, 2}, {3}} end},
  {"{a=1}", function() return {a = 1} end},
  {"cyclic table", function() local t = {1}; t[2] = t; t.self = t; return t end},
  {"nested 200", function() return nested(200) end},
  {"function", function() return function() end end},
  {"erroring function", function() return function() error("boom") end end},
  {"coroutine", function() return coroutine.create(function() end) end},
  {"a file", function() return devnull end},
  {"f32[2,3]", function() return loupe.rand(2, 3) end},
  {"f32[3]", function() return loupe.rand(3) end},
  {"f32 0-d", function() return loupe.tensor(2.5) end},
  {"f32[0]", function() return loupe.zeros(0) end},
  {"f32[0,3]", function() return loupe.zeros(0, 3) end},
  {"f32[3,0]", function() return loupe.zeros(3, 0) end},
  {"f32[2,3,5,5]", function() return loupe.rand(2, 3, 5, 5) end},
  {"f32[1,1,1,1]", function() return loupe.rand(1, 1, 1, 1) end},
  {"int64[2,3]", function() return loupe.tensor({{1, 2, 3}, {3, 2, 1}}, "int64") end},
  {"int64[2]", function() return loupe.tensor({1, 2}, "int64") end},
  {"int64 huge", function() return loupe.tensor({math.maxinteger, math.mininteger}, "int64") end},
  {"uint8[2,3]", function() return loupe.tensor({{1, 0, 1}, {0, 1, 255}}, "uint8") end},
  {"transposed [3,2]", function() return loupe.rand(2, 3):t() end},
  {"expanded [4,3]", function() return loupe.rand(1, 3):expand(4, 3) end},
  {"narrowed [3,2] of [3,4]", function() return loupe.rand(3, 4):narrow(2, 2, 2) end},
  {"permuted [5,5,3,2]", function() return loupe.rand(2, 3, 5, 5):permute(3, 4, 2, 1) end},
  {"NaN [2,3]", function() return loupe.full({2, 3}, 0 / 0) end},
  {"Inf [2,3]", function() return loupe.full({2, 3}, math.huge) end},
  {"requires_grad [2,3]", function() return loupe.rand(2, 3):requires_grad_() end},
  {"freed tensor", freed},
}

-- the subset for quick (valgrind) runs: one of each kind
local QUICK = {["nil"] = true, ["true"] = true, ["-1"] = true, ["1.5"] = true, ["2^62"] = true,
               ["NaN"] = true, ["Inf"] = true, ["'%s%n'"] = true, ["long string"] = true,
               ["{}"] = true, ["{1,2,3}"] = true, ["{{1,2},{3}}"] = true, ["cyclic table"] = true,
               ["function"] = true, ["a file"] = true, ["f32[2,3]"] = true,
               ["f32[0]"] = true, ["f32[0,3]"] = true, ["f32 0-d"] = true,
               ["f32[2,3,5,5]"] = true, ["int64[2,3]"] = true, ["uint8[2,3]"] = true,
               ["transposed [3,2]"] = true, ["expanded [4,3]"] = true,
               ["narrowed [3,2] of [3,4]"] = true, ["NaN [2,3]"] = true,
               ["requires_grad [2,3]"] = true, ["freed tensor"] = true}
local ALL = VALUES
if quick then
  local kept = {}
  for _, v in ipairs(VALUES) do if QUICK[v[1]] then kept[#kept + 1] = v end end
  VALUES = kept
end

local function value(name)
  for _, v in ipairs(ALL) do if v[1] == name then return v end end
  error("no value " .. name)
end

-- plausible leading arguments, so the bad value reaches the later checks: f(lead, v) for each
-- of LEADS, f(lead, lead2, v) for each pair of LEADS2
local LEADS = {value("f32[2,3]"), value("3")}
local LEADS2 = {value("f32[2,3]")}
if not quick then
  LEADS[#LEADS + 1] = value("{}")
  LEADS[#LEADS + 1] = value("f32[2,3,5,5]")
  LEADS[#LEADS + 1] = value("int64[2]")
  LEADS[#LEADS + 1] = value("'x'")
  LEADS2[#LEADS2 + 1] = value("1")
end

-- ---- calling ----

local calls, returned, slow, raw = 0, 0, {}, {}
local threads = loupe.get_num_threads()

local function restore()
  loupe.set_grad_enabled(true)
  loupe.set_num_threads(threads)
end

local only = os.getenv("MISUSE_ONLY") -- debugging: only the calls whose name contains this
local slow_after = tonumber(os.getenv("MISUSE_SLOW")) or 2

-- Logs, then calls fn(receiver, args...) with fresh values: self_v (or nil) and arglist are
-- {name, factory} pairs from VALUES (or OBJECTS).
local function try(name, fn, self_v, arglist)
  if only and not name:find(only, 1, true) then return end
  local descs, facts = {}, {}
  if self_v then descs[1] = "self=" .. self_v[1]; facts[1] = self_v[2] end
  for _, v in ipairs(arglist) do descs[#descs + 1] = v[1]; facts[#facts + 1] = v[2] end
  log:write(name, "(", table.concat(descs, ", "), ")\n")
  log:flush()
  local args = {}
  for i, f in ipairs(facts) do args[i] = f() end
  local t0 = loupe.clock()
  local ok, err = pcall(fn, table.unpack(args, 1, #facts))
  local dt = loupe.clock() - t0
  if ok then
    returned = returned + 1
  elseif type(err) == "string" and err:find("attempt to ", 1, true) then
    -- Lua's own messages: an error, as required, but one that does not say what was wrong
    raw[#raw + 1] = ("%s(%s): %s"):format(name, table.concat(descs, ", "), err)
  end
  if dt > slow_after then
    slow[#slow + 1] = ("%s(%s): %.1f s"):format(name, table.concat(descs, ", "), dt)
  end
  restore()
  calls = calls + 1
  if calls % 500 == 0 then collectgarbage() end
end

-- A function: f(), f(v), f(lead, v), f(lead, lead2, v) for every bad value v.
local function battery(name, fn, self_v)
  try(name, fn, self_v, {})
  for _, v in ipairs(VALUES) do try(name, fn, self_v, {v}) end
  if LIGHT[name] then return end
  for _, a in ipairs(LEADS) do
    for _, v in ipairs(VALUES) do try(name, fn, self_v, {a, v}) end
  end
  for _, a in ipairs(LEADS2) do
    for _, b in ipairs(LEADS2) do
      for _, v in ipairs(VALUES) do try(name, fn, self_v, {a, b, v}) end
    end
  end
end

-- Methods (receiver first): m(r) for every bad receiver r, then the battery with good ones.
local function method_battery(name, fn, receivers)
  for _, v in ipairs(VALUES) do try(name, fn, nil, {v}) end
  for _, r in ipairs(receivers) do battery(name, fn, r) end
end

-- Each function once per process, under the first name it is met by: classes share their
-- parents' metamethods, loupe.add is also Tensor.add, and "all" runs every group.
local tested = {}
local function first_time(name, fn)
  if EXCLUDED[name] or tested[fn] then return false end
  tested[fn] = true
  return true
end

-- The same, lighter, for methods of objects that are costly to make (one per call): m(r) for
-- bad receivers, then m(obj), m(obj, v) and m(obj, lead, v) with the first two leads.
local function object_battery(name, fn, receiver)
  for _, v in ipairs(VALUES) do try(name, fn, nil, {v}) end
  try(name, fn, receiver, {})
  for _, v in ipairs(VALUES) do try(name, fn, receiver, {v}) end
  for i = 1, 2 do
    for _, v in ipairs(VALUES) do try(name, fn, receiver, {LEADS[i], v}) end
  end
end

-- The functions of table t (and of its tables, to depth 2), sorted by name.
local function functions_of(t, prefix, out, depth, seen)
  out, depth, seen = out or {}, depth or 0, seen or {}
  if seen[t] then return out end
  seen[t] = true
  local keys = {}
  for k in pairs(t) do if type(k) == "string" then keys[#keys + 1] = k end end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local v = rawget(t, k)
    local full = prefix .. "." .. k
    if type(v) == "function" then
      out[#out + 1] = {full, v}
    elseif type(v) == "table" and k ~= "super" and k ~= "__index" then
      local mt = getmetatable(v)
      if type(mt) == "table" and type(rawget(mt, "__call")) == "function" then
        out[#out + 1] = {full, v} -- a class or a callable transform
      end
      if depth < 2 then functions_of(v, full, out, depth + 1, seen) end
    end
  end
  return out
end

-- The methods of an object: its metatable's functions and those of the class chain.
local function methods_of(obj)
  local out, seen, names = {}, {}, {}
  local mt = getmetatable(obj)
  local cls = type(mt) == "table" and mt or nil
  while type(cls) == "table" and not seen[cls] do
    seen[cls] = true
    for k, v in pairs(cls) do
      if type(k) == "string" and type(v) == "function" and not names[k] then
        names[k] = true
        out[#out + 1] = {k, v}
      end
    end
    local idx = rawget(cls, "__index")
    if type(idx) == "table" and not seen[idx] then
      cls = idx
    else
      cls = rawget(cls, "super") or (getmetatable(cls) and getmetatable(cls).__index)
    end
  end
  table.sort(out, function(a, b) return a[1] < b[1] end)
  return out
end

-- ---- groups ----

local nn, optim, plot = loupe.nn, loupe.optim, loupe.plot

local SUBTABLES = {"nn", "functional", "optim", "data", "transforms", "linalg", "image",
                   "plot", "train", "models", "experiment", "json", "progress", "report",
                   "_data", "_batch", "_stimuli", "_plot", "_tf", "_optim"}
-- lazily loaded members of the sub-tables (their __index loads them)
local LAZY = {
  data = {"mnist", "fashion_mnist", "kmnist", "cifar10", "cifar100", "svhn", "image_folder",
          "stimuli", "loader"},
  plot = {"eigenspectrum", "facets", "embedding", "curve", "history"},
}

local function module_functions(sub)
  local t = loupe[sub]
  for _, k in ipairs(LAZY[sub] or {}) do local _ = t[k] end
  return functions_of(t, "loupe." .. sub)
end

local function param() return loupe.rand(3, 2):requires_grad_() end

-- Objects whose methods are called: name -> factory (fresh for each call).
local OBJECTS = {
  Linear = function() return nn.Linear(3, 4) end,
  Bilinear = function() return nn.Bilinear(3, 4) end,
  Conv2d = function() return nn.Conv2d(3, 2, 3, {padding = 1}) end,
  BatchNorm1d = function() return nn.BatchNorm1d(3) end,
  BatchNorm2d = function() return nn.BatchNorm2d(3) end,
  MaxPool2d = function() return nn.MaxPool2d(2) end,
  AvgPool2d = function() return nn.AvgPool2d(2) end,
  AdaptiveAvgPool2d = function() return nn.AdaptiveAvgPool2d(1) end,
  Dropout = function() return nn.Dropout(0.5) end,
  Flatten = function() return nn.Flatten() end,
  Sequential = function() return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)) end,
  ModuleList = function() return nn.ModuleList{nn.Linear(3, 4), nn.Tanh()} end,
  CrossEntropyLoss = function() return nn.CrossEntropyLoss() end,
  BCEWithLogitsLoss = function() return nn.BCEWithLogitsLoss() end,
  bilinear_mlp = function() return loupe.models.bilinear_mlp{d_input = 3, d_hidden = 4, d_output = 2} end,
  squeezenet = (function() -- one instance for all calls: making one takes 16 ms
    local m
    return function()
      m = m or loupe.models.squeezenet1_1{num_classes = 3}
      return m
    end
  end)(),
  SGD = function() return optim.SGD({param()}, {lr = 0.1, momentum = 0.9}) end,
  AdamW = function() return optim.AdamW({param()}, {lr = 0.1}) end,
  StepLR = function() return optim.lr_scheduler.StepLR(optim.SGD({param()}, {lr = 0.1}), {step_size = 1}) end,
  OneCycleLR = function()
    return optim.lr_scheduler.OneCycleLR(optim.SGD({param()}, {lr = 0.1, momentum = 0.9}),
                                         {max_lr = 0.1, total_steps = 5})
  end,
  SequentialLR = function()
    local opt = optim.SGD({param()}, {lr = 0.1})
    local a = optim.lr_scheduler.LinearLR(opt, {start_factor = 0.5, total_iters = 2})
    local b = optim.lr_scheduler.CosineAnnealingLR(opt, {T_max = 3})
    return optim.lr_scheduler.SequentialLR(opt, {schedulers = {a, b}, milestones = {2}})
  end,
  figure = function() return plot.figure{width = 200, height = 150} end,
  panel = function() return plot.figure{width = 200, height = 150}:panel(1, 1) end,
  progress = function() return loupe.progress.new{total = 3, file = devnull} end,
  dataset = function()
    return loupe.data.dataset{x = loupe.rand(4, 1, 2, 2), y = loupe.tensor({1, 2, 1, 2}, "int64")}
  end,
  loader = function()
    return loupe.data.dataset{x = loupe.rand(4, 1, 2, 2), y = loupe.tensor({1, 2, 1, 2}, "int64")}
      :loader{batch_size = 3}
  end,
  experiment = function() return loupe.experiment.new("misuse", {args = {}, out = "exp"}) end,
  gaussian_noise = function() return loupe.transforms.gaussian_noise{std = 1} end,
  color_jitter = function() return loupe.transforms.color_jitter{brightness = 0.5, hue = 0.1} end,
  compose = function() return loupe.transforms.compose{loupe.transforms.hflip} end,
}

local GROUPS = {}

GROUPS.loupe = function()
  for _, f in ipairs(functions_of(loupe, "loupe", nil, 2)) do
    if first_time(f[1], f[2]) then battery(f[1], f[2]) end
  end
end

for _, sub in ipairs(SUBTABLES) do
  GROUPS[sub] = function()
    for _, f in ipairs(module_functions(sub)) do
      if first_time(f[1], f[2]) then battery(f[1], f[2]) end
    end
  end
end

-- tensor methods and metamethods, on good and bad receivers
local RECEIVERS = {value("f32[2,3]"), value("f32[0,3]"), value("transposed [3,2]"),
                   value("int64[2,3]")}
if not quick then
  for _, n in ipairs{"f32 0-d", "uint8[2,3]", "expanded [4,3]", "narrowed [3,2] of [3,4]",
                     "requires_grad [2,3]", "freed tensor", "f32[2,3,5,5]"} do
    RECEIVERS[#RECEIVERS + 1] = value(n)
  end
end

GROUPS.tensor = function()
  for _, m in ipairs(methods_of(loupe.ones(1))) do
    if first_time("Tensor." .. m[1], m[2]) then method_battery("Tensor." .. m[1], m[2], RECEIVERS) end
  end
end

-- Each distinct method once, on the first object (in name order) that has it: the layers share
-- nn.Module's methods. (Not through first_time: a method met before as a plain function of
-- its class table, with bad receivers only, is called here on a real object.)
GROUPS.objects = function()
  local names, done = {}, {}
  for k in pairs(OBJECTS) do names[#names + 1] = k end
  table.sort(names)
  for _, k in ipairs(names) do
    local make = OBJECTS[k]
    for _, m in ipairs(methods_of(make())) do
      if not done[m[2]] and not EXCLUDED[k .. ":" .. m[1]] then
        done[m[2]] = true
        object_battery(k .. ":" .. m[1], m[2], {k, make})
      end
    end
  end
end

-- aliasing and in-place misuse: every in-place method with its own tensor or a view of it
-- as the argument (the values are checked in test_misuse.lua; here only that nothing crashes)
GROUPS.aliasing = function()
  local inplace = {"add_", "sub_", "mul_", "div_", "pow_", "copy_", "masked_fill_", "clamp_",
                   "fill_", "relu_", "zero_", "detach_", "requires_grad_"}
  local views = {
    {"x", function(x) return x end}, {"x:t()", function(x) return x:t() end},
    {"x[1]", function(x) return x[1] end}, {"x:narrow(1,2,2)", function(x) return x:narrow(1, 2, 2) end},
    {"x:view(-1)", function(x) return x:view(-1) end},
    {"x:expand", function(x) return x[1]:view(1, 3):expand(3, 3) end},
    {"x:gt(0)", function(x) return x:gt(0.5) end},
  }
  for _, m in ipairs(inplace) do
    for _, dst in ipairs(views) do
      for _, src in ipairs(views) do
        local x = loupe.rand(3, 3)
        local d = dst[2](x)
        local name = ("%s:%s(%s) with x = [3,3]"):format(dst[1], m, src[1])
        try(name, function() return d[m](d, src[2](x)) end, nil, {})
      end
    end
  end
end

-- ---- templates: well-formed calls, each argument, option and list entry made bad in turn ----

local here = arg[0]:match("^(.*)/") or "."
local TEMPLATES = dofile(here .. "/misuse_templates.lua")

-- a deep copy of the template's arguments with factories called
local function realise(v)
  if type(v) == "function" then return v() end
  if type(v) ~= "table" then return v end
  local c = {}
  for k, x in pairs(v) do c[k] = realise(x) end
  return c
end

-- every slot of an argument list: {position} or {position, key} or {position, key, index}
local function slots(args, n)
  local out = {}
  for i = 1, n do
    out[#out + 1] = {i}
    if type(args[i]) == "table" then
      for k, x in pairs(args[i]) do
        out[#out + 1] = {i, k}
        if type(x) == "table" then
          for j in ipairs(x) do out[#out + 1] = {i, k, j} end
        end
      end
    end
  end
  table.sort(out, function(a, b)
    for j = 1, 3 do
      local x, y = tostring(a[j] or ""), tostring(b[j] or "")
      if x ~= y then return x < y end
    end
    return false
  end)
  return out
end

GROUPS.templates = function()
  for _, tp in ipairs(TEMPLATES) do
    local name, fn, args = tp[1], tp[2], tp[3]
    local n = 0
    for i in pairs(args) do n = math.max(n, i) end
    try(name .. " [as given]", function() return fn(table.unpack(realise(args), 1, n)) end, nil, {})
    for _, slot in ipairs(slots(args, n)) do
      for _, v in ipairs(VALUES) do
        local where = table.concat(slot, ".")
        try(("%s [arg %s = %s]"):format(name, where, v[1]), function()
          local a = realise(args)
          if #slot == 1 then a[slot[1]] = v[2]()
          elseif #slot == 2 then a[slot[1]][slot[2]] = v[2]()
          else a[slot[1]][slot[2]][slot[3]] = v[2]() end
          return fn(table.unpack(a, 1, n))
        end, nil, {})
      end
    end
    -- one argument too many
    for _, v in ipairs(VALUES) do
      try(("%s [extra arg = %s]"):format(name, v[1]), function()
        local a = realise(args)
        a[n + 1] = v[2]()
        return fn(table.unpack(a, 1, n + 1))
      end, nil, {})
    end
  end
end

local ORDER = {"loupe", "tensor", "templates", "objects", "aliasing"}
for _, sub in ipairs(SUBTABLES) do ORDER[#ORDER + 1] = sub end
if group == "groups" then -- the list, for the parent
  print(table.concat(ORDER, " "))
  os.exit(0)
end
if group == "all" then -- every group in one process (valgrind: one start-up)
  for _, g in ipairs(ORDER) do GROUPS[g]() end
else
  assert(GROUPS[group], "unknown group " .. tostring(group))
  GROUPS[group]()
end
log:close()
for _, s in ipairs(slow) do print("slow: " .. s) end
if os.getenv("MISUSE_RAW") then for _, s in ipairs(raw) do print("raw: " .. s) end end
print(("battery %s: %d calls, %d returned, %d raised Lua's own messages"):format(
  group, calls, returned, #raw))
