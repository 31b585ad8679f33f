-- state.lua — optimizer and scheduler state to and from the two tables of a safetensors file
-- (tensors by name, metadata strings by name):
--
--   local tensors, meta = loupe.optim.flatten_state(opt:state_dict() [, prefix = "optim."])
--   loupe.save(path, tensors, meta)            -- merge model tensors into `tensors` freely
--   local t, m = loupe.load(path)
--   opt:load_state_dict(loupe.optim.unflatten_state(t, m [, prefix = "optim."]))
--
-- A nested table becomes dotted names under the prefix: tensors go into `tensors`
-- ("optim.state.3.exp_avg"), everything else into `meta` as strings that read back as the same
-- value and type ("optim.state.3.step" = "5", "optim.param_groups.1.lr" = "0.001",
-- "optim.param_groups.1.betas.1" = "0.9", booleans "true"/"false", strings "s:<text>").
-- Numeric name parts become integer keys again, so lists survive; empty tables are not stored
-- (load_state_dict treats missing state as empty). Numbers keep their Lua subtype and their
-- exact value (the shortest of %.15g, %.16g, %.17g that reads back equal).
local loupe = require "loupe"

local M = {}

local function encode(v, name)
  local ty = type(v)
  if ty == "boolean" then return tostring(v) end
  if ty == "string" then return "s:" .. v end
  if ty ~= "number" then
    error(("flatten_state: cannot store '%s' (a %s)"):format(name, ty), 0)
  end
  if math.type(v) == "integer" then return ("%d"):format(v) end
  if v ~= v then return "nan" end
  if v == math.huge then return "inf" end
  if v == -math.huge then return "-inf" end
  local s
  for digits = 15, 17 do -- the shortest form that reads back exactly: 0.1 is "0.1"
    s = ("%." .. digits .. "g"):format(v)
    if tonumber(s) == v then break end
  end
  if not s:find("[%.eEn]") then s = s .. ".0" end -- stays a float when read back
  return s
end

local SPECIAL = {["true"] = true, ["false"] = false, nan = 0 / 0, inf = math.huge,
                 ["-inf"] = -math.huge}

local function decode(s, name)
  local special = SPECIAL[s]
  if special ~= nil then return special end
  if s:sub(1, 2) == "s:" then return s:sub(3) end
  local v = tonumber(s)
  if v == nil then error(("unflatten_state: cannot read '%s' = '%s'"):format(name, s), 3) end
  return v
end

function M.flatten_state(sd, prefix)
  prefix = prefix or "optim."
  if type(sd) ~= "table" then error("flatten_state: expected a table, got " .. type(sd), 2) end
  local tensors, meta, open = {}, {}, {}
  local function walk(t, path)
    -- a table inside itself would otherwise recurse until memory runs out
    if open[t] then error(("flatten_state: '%s' contains itself"):format(path:sub(1, -2)), 0) end
    open[t] = true
    for k, v in pairs(t) do
      if type(k) ~= "string" and math.type(k) ~= "integer" then
        error(("flatten_state: key %s under '%s' is neither a string nor an integer"):format(
          tostring(k), path), 0)
      end
      local name = path .. tostring(k)
      if type(k) == "string" and (k:find(".", 1, true) or k:match("^%-?%d+$")) then
        error(("flatten_state: key '%s' would not read back (a dot, or digits only)"):format(
          name), 0)
      end
      if loupe.is_tensor(v) then
        tensors[name] = v
      elseif type(v) == "table" then
        walk(v, name .. ".")
      else
        meta[name] = encode(v, name)
      end
    end
    open[t] = nil
  end
  local ok, err = pcall(walk, sd, prefix) -- errors from any depth, reported at the caller
  if not ok then error(err, 2) end
  return tensors, meta
end

function M.unflatten_state(tensors, meta, prefix)
  prefix = prefix or "optim."
  local sd = {}
  local function put(name, v)
    local node, parts = sd, {}
    for part in name:sub(#prefix + 1):gmatch("[^.]+") do
      parts[#parts + 1] = part:match("^%-?%d+$") and math.tointeger(tonumber(part)) or part
    end
    for i = 1, #parts - 1 do
      local k = parts[i]
      if node[k] == nil then node[k] = {} end
      node = node[k]
      if type(node) ~= "table" then
        error(("unflatten_state: '%s' clashes with a value stored above it"):format(name), 3)
      end
    end
    node[parts[#parts]] = v
  end
  for name, t in pairs(tensors or {}) do
    if name:sub(1, #prefix) == prefix then put(name, t) end
  end
  for name, s in pairs(meta or {}) do
    if name:sub(1, #prefix) == prefix then put(name, decode(s, name)) end
  end
  return sd
end

return M
