-- util.lua — option checking and copying shared by the optimizers and schedulers.
local M = {}

-- Raises "<what>: unknown option 'k' (expected one of: ...)" unless every key of opts (nil
-- or a table) is in the list `allowed`; returns opts or {}. `level` as for error(), counted
-- from the caller of M.options.
function M.options(opts, allowed, what, level)
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    error(("%s: options must be a table, got %s"):format(what, type(opts)), level + 1)
  end
  local ok = {}
  for _, k in ipairs(allowed) do ok[k] = true end
  for k in pairs(opts) do
    if not ok[k] then
      error(("%s: unknown option '%s' (expected one of: %s)"):format(
        what, tostring(k), table.concat(allowed, ", ")), level + 1)
    end
  end
  return opts
end

-- A copy of v: tables are copied recursively (they hold numbers, strings, booleans and
-- tensors, which are shared, not cloned). A table met twice is copied once, so a table that
-- holds itself is copied rather than recursed into until the stack overflows.
function M.copy(v, seen)
  if type(v) ~= "table" then return v end
  seen = seen or {}
  if seen[v] then return seen[v] end
  local c = {}
  seen[v] = c
  for k, x in pairs(v) do c[k] = M.copy(x, seen) end
  return c
end

-- "[3,4]" for a tensor's shape, for messages.
function M.shape(t) return "[" .. table.concat(t:shape(), ",") .. "]" end

return M
