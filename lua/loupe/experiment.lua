-- experiment.lua — loupe.experiment: what an experiment script needs from its surroundings:
-- an output folder, options from the command line, quick mode, metrics and figures.
-- Lazily loaded as loupe.experiment.
--
--   local ex = loupe.experiment.new("eigenvectors", {
--     options = {dataset = "mnist", epochs = 20, lr = 1e-3, rgb = false},  -- defaults; types
--     quick = {epochs = 1},        -- defaults under --quick (the command line still wins)
--   })
--   ex.out, ex.quick, ex.opts.epochs, ex.args (positional arguments)
--   ex:run(function(ex)
--     ex:log("training on", ex.opts.dataset)
--     ex:metric("val/acc", 0.97)
--     ex:figure("spectrum", fig)   -- fig:save(ex.out .. "/spectrum.png"), or a tensor image
--   end)                           -- writes metrics.json, also when fn raises (then re-raises)
--
-- Output folder: $LOUPE_OUT when set (the batch runner, `loupe run`, sets it to
-- out/<run>/<experiment>), else out/<name>; created if missing. Quick mode: --quick among the
-- script's arguments or LOUPE_QUICK=1 (set by `loupe run --quick`); experiments use it to
-- shrink their work to seconds.
--
-- Options (spec.options): each default fixes the type: `--epochs 3` / `--epochs=3` (numbers;
-- integers must be integers), `--dataset fashion_mnist` (strings), `--rgb`, `--no-rgb` or
-- `--rgb=false` (booleans). Unknown options are errors listing the known ones; `--help`
-- prints them and exits. Arguments not starting with "--" are kept in ex.args. The
-- arguments are spec.args, default the script's global `arg`.
--
-- Metrics: ex:metric(name, value) with a number, string, boolean, tensor, or a table of
-- these (lists, or tables name -> value); metrics.json keeps the order of first recording.
-- Non-finite numbers are written as null. ex:finish() writes metrics.json atomically; it is
-- called by ex:run, and may be called again (each call rewrites the file).
local loupe = require "loupe"
local json = require "loupe.json"

local M = {}

local Experiment = {}
Experiment.__index = Experiment

local function stem(path)
  return (path:match("([^/]+)$") or path):gsub("%.lua$", "")
end

local function check_name(name, what, level)
  if type(name) ~= "string" or not name:match("^[%w_%-][%w_%-%.]*$") then
    error(("experiment: %s must be a simple file name (letters, digits, '_', '-', '.'), got %s")
      :format(what, type(name) == "string" and ("'" .. name .. "'") or type(name)), level + 1)
  end
end

local function type_of(v)
  if math.type(v) == "integer" then return "integer" end
  return type(v)
end

-- Converts the text s to the type of default, or raises naming the option.
local function convert(name, s, default)
  local t = type_of(default)
  if t == "string" then return s end
  if t == "boolean" then
    if s == "true" or s == "1" or s == "yes" then return true end
    if s == "false" or s == "0" or s == "no" then return false end
    error(("experiment: --%s expects true or false, got '%s'"):format(name, s), 0)
  end
  local x = tonumber(s)
  if t == "integer" then x = x and math.tointeger(x) end
  if x == nil then
    error(("experiment: --%s expects %s, got '%s'"):format(name, t == "integer" and "an integer" or "a number", s), 0)
  end
  return x
end

local function usage(name, options)
  local names = {}
  for k in pairs(options) do names[#names + 1] = k end
  table.sort(names)
  local lines = {("usage: loupe %s.lua [--quick] [options]"):format(name), "options (default):"}
  for _, k in ipairs(names) do
    lines[#lines + 1] = ("  --%-20s %s"):format(k, tostring(options[k]))
  end
  return table.concat(lines, "\n")
end

-- Parses args against the options spec; returns opts, positional args, quick flag, help flag.
local function parse_args(args, options)
  local given, positional, quick, help = {}, {}, false, false
  local known = {}
  for k in pairs(options) do known[#known + 1] = "--" .. k end
  table.sort(known)
  local i = 1
  while i <= #args do
    local a = args[i]
    if a == "--quick" then
      quick = true
    elseif a == "--help" or a == "-h" then
      help = true
    elseif a:sub(1, 2) == "--" then
      local key, value = a:match("^%-%-([^=]+)=(.*)$")
      key = key or a:sub(3)
      local negated = value == nil and key:match("^no%-(.+)$")
      if negated and type(options[negated]) == "boolean" then
        key, value = negated, "false"
      end
      local default = options[key]
      if default == nil then
        error(("experiment: unknown option '--%s' (options: --quick, %s)"):format(
          key, #known > 0 and table.concat(known, ", ") or "none"), 0)
      end
      if value == nil then
        if type(default) == "boolean" then
          value = "true"
        else
          i = i + 1
          value = args[i]
          if value == nil then error(("experiment: --%s needs a value"):format(key), 0) end
        end
      end
      given[key] = convert(key, value, default)
    else
      positional[#positional + 1] = a
    end
    i = i + 1
  end
  return given, positional, quick, help
end

-- new(name [, spec]): name defaults to the script's file name without ".lua" (arg[0]).
-- spec: options, quick (defaults in quick mode), args (default: the global arg), out (folder,
-- overriding $LOUPE_OUT and out/<name>).
function M.new(name, spec)
  if type(name) == "table" and spec == nil then name, spec = nil, name end
  spec = spec or {}
  if type(spec) ~= "table" then error("experiment.new: the spec must be a table", 2) end
  local args = spec.args or _G.arg or {}
  name = name or (args[0] and stem(args[0])) or "experiment"
  check_name(name, "the name", 2)
  local options = spec.options or {}
  local quick_defaults = spec.quick or {}
  for k, v in pairs(quick_defaults) do
    local default = options[k]
    if default == nil then error(("experiment.new: quick default '%s' is not an option"):format(k), 2) end
    local float_ok = type_of(default) == "number" and type(v) == "number" -- a float option takes any number
    if type_of(v) ~= type_of(default) and not float_ok then
      error(("experiment.new: quick default '%s' must have the type of its default (%s)"):format(
        k, type_of(default)), 2)
    end
  end
  local given, positional, quick_flag, help = parse_args(args, options)
  if help then
    print(usage(name, options))
    os.exit(0)
  end
  local quick = quick_flag or os.getenv("LOUPE_QUICK") == "1"
  local opts = {}
  for k, v in pairs(options) do opts[k] = v end
  if quick then for k, v in pairs(quick_defaults) do opts[k] = v end end
  for k, v in pairs(given) do opts[k] = v end

  local env_out = os.getenv("LOUPE_OUT")
  local out = spec.out or (env_out ~= nil and env_out ~= "" and env_out) or ("out/" .. name)
  out = out:gsub("(.)/+$", "%1")
  loupe.mkdir(out)
  return setmetatable({name = name, out = out, quick = quick, opts = opts, args = positional,
                       metrics = {}, metric_order = {}}, Experiment)
end

-- Metric values are checked when recorded, so a bad one fails at its call, not in finish.
function Experiment:metric(name, value)
  if type(name) ~= "string" or name == "" then
    error("experiment:metric: the name must be a non-empty string", 2)
  end
  local ok, err = pcall(json.encode, value)
  if not ok then error(("experiment:metric '%s': %s"):format(name, err), 2) end
  if loupe.is_tensor(value) then value = json.decode(json.encode(value)) end
  if self.metrics[name] == nil then self.metric_order[#self.metric_order + 1] = name end
  self.metrics[name] = value == nil and json.null or value
  return value
end

-- Saves a figure as <out>/<name>.png (or the extension given in name: .svg, .pdf, .png):
-- an object with a :save(path) method (loupe.plot figures), or a tensor image (saved with
-- loupe.image.save(t, path, opts)). Returns the path.
function Experiment:figure(name, fig, opts)
  check_name(name, "the figure name", 2)
  local path = self.out .. "/" .. (name:match("%.%a+$") and name or name .. ".png")
  if loupe.is_tensor(fig) then
    if opts ~= nil then loupe.image.save(fig, path, opts) else loupe.image.save(fig, path) end
  elseif (type(fig) == "table" or type(fig) == "userdata") and fig.save then
    fig:save(path)
  else
    error(("experiment:figure '%s': expected a figure (an object with :save) or a tensor image, got %s")
      :format(name, type(fig)), 2)
  end
  return path
end

-- Prints its arguments like print (to stdout, which the batch runner captures), above any
-- progress bar.
function Experiment:log(...)
  local parts = table.pack(...)
  for i = 1, parts.n do parts[i] = tostring(parts[i]) end
  loupe.progress.write(table.concat(parts, "\t", 1, parts.n))
end

-- Writes <out>/metrics.json (atomically); returns its path.
function Experiment:finish()
  local path = self.out .. "/metrics.json"
  loupe.write_file(path, json.encode(self.metrics, {indent = 2, order = self.metric_order}) .. "\n")
  return path
end

-- An error raised again by ex:run: prints as the message with the traceback of where it
-- happened (the host prints an object that describes itself without adding a second one).
local RunError = {__name = "experiment error"}
RunError.__tostring = function(e) return e.traceback end

-- Calls fn(self) under xpcall; metrics.json is written either way, then an error is raised
-- again (so the script fails and the runner records it) as an object whose tostring is the
-- message and traceback and whose .message is the original error value. Returns fn's results.
function Experiment:run(fn)
  local function handler(err)
    if type(err) ~= "string" then return err end
    return setmetatable({message = err, traceback = debug.traceback(err, 2)}, RunError)
  end
  local res = table.pack(xpcall(fn, handler, self))
  local ok_finish, finish_err = pcall(self.finish, self)
  if not res[1] then error(res[2], 0) end
  if not ok_finish then error(finish_err, 0) end
  return table.unpack(res, 2, res.n)
end

return M
