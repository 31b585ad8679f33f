-- args.lua — argument checks shared by the layer constructors, so a typo in an option
-- (`{strid = 2}`) or a bad size is an error naming the layer instead of a silent default.
local M = {}

-- Returns opts (or {}) after checking that every key is one of `allowed` (a list).
function M.options(opts, allowed, what)
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    error(("%s: options must be a table, got %s"):format(what, type(opts)), 0)
  end
  local ok = {}
  for _, k in ipairs(allowed) do ok[k] = true end
  for k in pairs(opts) do
    if not ok[k] then
      error(("%s: unknown option '%s' (expected one of: %s)"):format(
        what, tostring(k), table.concat(allowed, ", ")), 0)
    end
  end
  return opts
end

-- v if v is an integer >= min, else an error naming `name`.
function M.int(v, name, what, min)
  min = min or 1
  if math.type(v) ~= "integer" or v < min then
    error(("%s: %s must be an integer >= %d, got %s"):format(what, name, min, tostring(v)), 0)
  end
  return v
end

-- A number or a {h, w} pair as a pair table {h, w} of integers >= min (PyTorch's _pair).
function M.pair(v, name, what, min)
  min = min or 0
  local p = type(v) == "table" and {v[1], v[2]} or {v, v}
  if type(v) == "table" and #v ~= 2 then p = {} end
  for i = 1, 2 do
    if math.type(p[i]) ~= "integer" or p[i] < min then
      local shown = tostring(v)
      if type(v) == "table" then
        local parts = {}
        for j, x in ipairs(v) do parts[j] = tostring(x) end
        shown = "{" .. table.concat(parts, ", ") .. "}"
      end
      error(("%s: %s must be an integer >= %d or a pair of them, got %s"):format(
        what, name, min, shown), 0)
    end
  end
  return p
end

-- The loupe.functional entry `name`, or an error saying the C layer is missing.
function M.functional(name)
  local F = require("loupe").functional
  local fn = F and F[name]
  if fn == nil then error("loupe.functional." .. name .. " is not available in this build", 0) end
  return fn
end

return M
