-- misuse_battery.lua — calls every public function of loupe with bad arguments; run by
-- test_misuse.lua in child processes (one per group), also under valgrind (make valgrind).
--
--   loupe tests/lua/misuse_battery.lua GROUP LOG [quick]
--
-- Before each call the battery writes one line naming the function and its arguments to LOG
-- and flushes it, so when a call kills the process (a signal, an abort) the last line of LOG
-- names the culprit. Each call must return or raise a Lua error; anything else ends the
-- process and is reported by the parent. At the end it prints "battery GROUP: N calls".
--
-- Targets: the functions of the loupe table and of its sub-tables (loaded lazily, so each is
-- named here), tensor methods and metamethods, callable tables (classes, transforms), and the
-- methods of objects made fresh for each call (layers, models, optimizers, schedulers,
-- figures, progress bars, datasets, loaders, experiments). Arguments: no arguments, and each
-- bad value in the first, second and third position after plausible leading arguments.
-- Bad values: nil, booleans, numbers (negative, fractional, 2^62, maxinteger, NaN, +-Inf),
-- strings (empty, a format string, a long one, a dtype name), tables (empty, a list, ragged,
-- cyclic, deeply nested), functions, a coroutine, a foreign userdata, and tensors: empty
-- [0] and [0,3], 0-d, int64 and uint8 where float is expected, non-contiguous views
-- (transpose, expand, narrow along the last dimension, permute), NaN and Inf values, one that
-- requires grad, and one already freed. "quick" (for valgrind) takes a subset of the values.
--
-- Exclusions (never called): see EXCLUDED below; each has its reason. The child runs in a
-- scratch folder (file-writing functions write there), with LOUPE_DATA pointing at an empty
-- folder (dataset readers fail at once instead of reading 47 MB each time) and a lowered
-- LOUPE_MAX_BYTES (a call that asks for gigabytes fails instead of swapping).
local loupe = require "loupe"

local group, log_path, quick = arg[1], arg[2], arg[3] == "quick"
assert(group and log_path, "usage: misuse_battery.lua GROUP LOG [quick]")
local log = assert(io.open(log_path, "w"))
local devnull = assert(io.open("/dev/null", "w"))

-- Functions that are never called, and why.
local EXCLUDED = {
  -- write their arguments to the process's stdout / stderr, and block nothing, but a
  -- progress bar drawn with a bad `file` would print to the battery's own stdout: the
  -- progress functions are called with a /dev/null file below instead (see OBJECTS)
  ["loupe.progress.write"] = "prints to stdout; covered through a bar writing to /dev/null",
  -- building a full ImageNet-size network with default options takes seconds (minutes under
  -- valgrind) per call; their option checking is shared with the small models called here
  ["loupe.models.resnet50"] = "builds a 25M-parameter model per call (seconds each)",
  ["loupe.models.resnet34"] = "builds a 21M-parameter model per call (seconds each)",
  ["loupe.models.resnet18"] = "builds an 11M-parameter model per call",
  ["loupe.models.ResNet"] = "builds an 11M-parameter model per call",
  ["loupe.models.ResNet.__init"] = "builds an 11M-parameter model per call",
  -- an experiment whose arguments include --help prints its usage and exits: the
  -- battery's arguments never do, but a table of strings could; it is called with
  -- spec.args always replaced (see OBJECTS) so only that path is excluded
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
  {"io.stdout", function() return devnull end},
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
               ["function"] = true, ["io.stdout"] = true, ["f32[2,3]"] = true,
               ["f32[0]"] = true, ["f32[0,3]"] = true, ["f32 0-d"] = true,
               ["f32[2,3,5,5]"] = true, ["int64[2,3]"] = true, ["uint8[2,3]"] = true,
               ["transposed [3,2]"] = true, ["expanded [4,3]"] = true,
               ["narrowed [3,2] of [3,4]"] = true, ["NaN [2,3]"] = true,
               ["requires_grad [2,3]"] = true, ["freed tensor"] = true}
if quick then
  local kept = {}
  for _, v in ipairs(VALUES) do if QUICK[v[1]] then kept[#kept + 1] = v end end
  VALUES = kept
end

local function value(name)
  for _, v in ipairs(VALUES) do if v[1] == name then return v end end
  error("no value " .. name)
end

-- plausible leading arguments, so the bad value reaches the later checks
local LEADS = {value("f32[2,3]"), value("3"), value("{}")}
if not quick then
  LEADS[#LEADS + 1] = value("f32[2,3,5,5]")
  LEADS[#LEADS + 1] = value("int64[2]")
  LEADS[#LEADS + 1] = value("'x'")
end
local LEADS2 = {value("f32[2,3]"), value("1")}

-- ---- calling ----

local calls, slow = 0, {}
local threads = loupe.get_num_threads()

local function restore()
  loupe.set_grad_enabled(true)
  loupe.set_num_threads(threads)
end

-- Calls fn(self?, args...) with the values named; self_f is a factory for the receiver.
local function try(name, fn, self_v, arglist)
  local descs, facts = {}, {}
  if self_v then descs[1] = "self=" .. self_v[1]; facts[1] = self_v[2] end
  for _, v in ipairs(arglist) do descs[#descs + 1] = v[1]; facts[#facts + 1] = v[2] end
  log:write(name, "(", table.concat(descs, ", "), ")\n")
  log:flush()
  local args = {}
  for i, f in ipairs(facts) do args[i] = f() end
  local t0 = loupe.clock()
  pcall(fn, table.unpack(args, 1, #facts))
  local dt = loupe.clock() - t0
  if dt > 2 then slow[#slow + 1] = ("%s(%s): %.1f s"):format(name, table.concat(descs, ", "), dt) end
  restore()
  calls = calls + 1
  if calls % 500 == 0 then collectgarbage() end
end

-- A function: f(), f(v), f(lead, v), f(lead, lead2, v) for every bad value v.
local function battery(name, fn, self_v)
  if EXCLUDED[name] then return end
  try(name, fn, self_v, {})
  for _, v in ipairs(VALUES) do try(name, fn, self_v, {v}) end
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
  if EXCLUDED[name] then return end
  for _, v in ipairs(VALUES) do try(name, fn, nil, {v}) end
  for _, r in ipairs(receivers) do battery(name, fn, r) end
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
  squeezenet = function() return loupe.models.squeezenet1_1{num_classes = 3} end,
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
  for _, f in ipairs(functions_of(loupe, "loupe", nil, 2)) do battery(f[1], f[2]) end
end

for _, sub in ipairs(SUBTABLES) do
  GROUPS[sub] = function()
    for _, f in ipairs(module_functions(sub)) do battery(f[1], f[2]) end
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
    method_battery("Tensor." .. m[1], m[2], RECEIVERS)
  end
end

GROUPS.objects = function()
  local names = {}
  for k in pairs(OBJECTS) do names[#names + 1] = k end
  table.sort(names)
  for _, k in ipairs(names) do
    local make = OBJECTS[k]
    local receiver = {k, make}
    for _, m in ipairs(methods_of(make())) do
      method_battery(k .. ":" .. m[1], m[2], {receiver})
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

local run = GROUPS[group]
assert(run, "unknown group " .. tostring(group))
run()
log:close()
for _, s in ipairs(slow) do print("slow: " .. s) end
print(("battery %s: %d calls"):format(group, calls))
