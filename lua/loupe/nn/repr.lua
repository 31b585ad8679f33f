-- repr.lua — Python-style formatting of values for module reprs, so that print(model) reads
-- exactly like PyTorch's (`kernel_size=(7, 7)`, `eps=1e-05`, `bias=False`).
local M = {}

-- Python's repr of a float: the shortest round-tripping digits, "1.0" for integral values,
-- "1e-05" for small ones (C's %g exponent form is Python's too).
function M.float(x)
  if x ~= x then return "nan" end
  if x == math.huge then return "inf" end
  if x == -math.huge then return "-inf" end
  if x == math.floor(x) and math.abs(x) < 1e16 then return ("%.1f"):format(x) end
  for digits = 1, 17 do
    local s = ("%." .. digits .. "g"):format(x)
    if tonumber(s) == x then return s end
  end
  return ("%.17g"):format(x)
end

-- A Lua value as Python would print it: integers as ints, floats as floats, booleans as
-- True/False, nil as None, tables (lists) as tuples.
function M.value(v)
  local t = type(v)
  if t == "boolean" then return v and "True" or "False" end
  if t == "nil" then return "None" end
  if t == "number" then
    return math.type(v) == "integer" and tostring(v) or M.float(v)
  end
  if t == "table" then
    local parts = {}
    for i = 1, #v do parts[i] = M.value(v[i]) end
    if #parts == 1 then return "(" .. parts[1] .. ",)" end
    return "(" .. table.concat(parts, ", ") .. ")"
  end
  return tostring(v)
end

-- "a=1, b=(2, 2)" from a list of {name, value} pairs.
function M.kwargs(pairs_list)
  local parts = {}
  for i, kv in ipairs(pairs_list) do parts[i] = kv[1] .. "=" .. M.value(kv[2]) end
  return table.concat(parts, ", ")
end

-- A shape as loupe's error messages print it: [64,3,7,7].
function M.shape(t)
  return "[" .. table.concat(t:shape(), ",") .. "]"
end

return M
