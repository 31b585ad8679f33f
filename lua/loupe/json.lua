-- json.lua — loupe.json: a small JSON encoder and decoder for metrics.json and the batch
-- runner's summary (lazily loaded as loupe.json).
--
--   local s = loupe.json.encode(value [, {indent = 2, order = {"b", "a"}}])
--   local v = loupe.json.decode(s)       -- errors name the position: "json: ... at byte 17"
--   loupe.json.keys(obj)                 -- an object's keys, in document order when decoded
--   loupe.json.null                      -- what decode gives for null inside arrays
--
-- Encoding: nil and non-finite numbers (NaN, ±inf) become null, integers print as integers,
-- other numbers in the shortest form that reads back the same (%.15g, else %.17g); strings are
-- escaped per RFC 8259, and bytes that are not valid UTF-8 are written as \u00XX (read as
-- Latin-1) so the output is always valid JSON. A table whose keys are exactly 1..n is an
-- array (the empty table is []), one with only string keys an object, with keys sorted unless
-- opts.order lists the top-level object's keys in the order wanted; other keys, cycles and
-- values such as functions are errors. Tensors become a number (one element) or nested arrays.
--
-- Decoding: null inside an array becomes json.null (so positions stay), an object member
-- whose value is null is dropped (still listed by json.keys).
local M = {}

M.null = setmetatable({}, {__tostring = function() return "null" end, __name = "json.null"})

-- ---- encoding ----

local ESCAPES = {['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
                 ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t"}

local function escape_valid(s)
  return (s:gsub('[%c"\\]', function(c)
    return ESCAPES[c] or ("\\u%04x"):format(c:byte())
  end))
end

local function encode_string(s)
  local parts, pos = {}, 1
  while true do
    local ok, bad = utf8.len(s, pos)
    if ok then
      parts[#parts + 1] = escape_valid(s:sub(pos))
      break
    end
    parts[#parts + 1] = escape_valid(s:sub(pos, bad - 1))
    parts[#parts + 1] = ("\\u%04x"):format(s:byte(bad))
    pos = bad + 1
  end
  return '"' .. table.concat(parts) .. '"'
end

local function encode_number(x)
  if x ~= x or x == math.huge or x == -math.huge then return "null" end
  if math.type(x) == "integer" then return tostring(x) end
  if x == math.floor(x) and math.abs(x) < 2^53 then return ("%d"):format(x) end
  local s = ("%.15g"):format(x)
  if tonumber(s) ~= x then s = ("%.17g"):format(x) end
  return s
end

local function is_tensor(v)
  local ok, loupe = pcall(require, "loupe")
  return ok and loupe.is_tensor(v)
end

-- Classifies a table: "array" (n elements), "object" (its sorted keys), or an error.
local function table_kind(t, path)
  local n, strings, other = 0, {}, nil
  for k in pairs(t) do
    if math.type(k) == "integer" and k >= 1 then
      n = n + 1
    elseif type(k) == "string" then
      strings[#strings + 1] = k
    else
      other = k
    end
  end
  local bad = other
  if bad == nil and n > 0 and #strings > 0 then bad = strings[1] end
  if bad == nil then
    for i = 1, n do if t[i] == nil then bad = "1.." .. n .. " with holes" end end
  end
  if bad ~= nil then
    error(("json: cannot encode the table at %s: keys must be 1..n or strings only (key %s)")
      :format(path, tostring(bad)), 0)
  end
  if n > 0 or next(t) == nil then return "array", n end
  table.sort(strings)
  return "object", strings
end

local function encode_value(v, out, indent, depth, path, seen, order)
  local t = type(v)
  if v == nil or v == M.null then
    out[#out + 1] = "null"
  elseif t == "boolean" then
    out[#out + 1] = tostring(v)
  elseif t == "number" then
    out[#out + 1] = encode_number(v)
  elseif t == "string" then
    out[#out + 1] = encode_string(v)
  elseif t == "userdata" and is_tensor(v) then
    local x = v:detach():float()
    encode_value(x:dim() == 0 and x:item() or x:totable(), out, indent, depth, path, seen)
  elseif t == "table" then
    if seen[v] then error(("json: cannot encode the table at %s: it contains itself"):format(path), 0) end
    seen[v] = true
    local kind, keys = table_kind(v, path)
    if order then
      if kind ~= "object" and next(v) ~= nil then error("json: order given for a value that is not an object", 0) end
      keys = order
    end
    local nl = indent and "\n" .. (" "):rep(indent * (depth + 1)) or ""
    local close = indent and "\n" .. (" "):rep(indent * depth) or ""
    if kind == "array" and not order then
      if keys == 0 then
        out[#out + 1] = "[]"
      else
        -- arrays of plain numbers stay on one line even when indenting
        local flat = true
        for i = 1, keys do if type(v[i]) == "table" then flat = false end end
        local sep = flat and (indent and ", " or ",") or "," .. nl
        out[#out + 1] = flat and "[" or "[" .. nl
        for i = 1, keys do
          if i > 1 then out[#out + 1] = sep end
          encode_value(v[i], out, indent, depth + 1, path .. "[" .. i .. "]", seen)
        end
        out[#out + 1] = flat and "]" or close .. "]"
      end
    elseif #keys == 0 then
      out[#out + 1] = "{}"
    else
      out[#out + 1] = "{" .. nl
      for i, k in ipairs(keys) do
        if i > 1 then out[#out + 1] = "," .. nl end
        out[#out + 1] = encode_string(k) .. (indent and ": " or ":")
        encode_value(v[k], out, indent, depth + 1, path .. "." .. k, seen)
      end
      out[#out + 1] = close .. "}"
    end
    seen[v] = nil
  else
    error(("json: cannot encode a %s (at %s)"):format(t, path), 0)
  end
end

function M.encode(v, opts)
  opts = opts or {}
  local out = {}
  encode_value(v, out, opts.indent, 0, "$", {}, opts.order)
  return table.concat(out)
end

-- ---- decoding ----

local key_order = setmetatable({}, {__mode = "k"})

-- The keys of a decoded object in document order; for other tables, the string keys sorted.
function M.keys(obj)
  if key_order[obj] then return table.move(key_order[obj], 1, #key_order[obj], 1, {}) end
  local keys = {}
  for k in pairs(obj) do if type(k) == "string" then keys[#keys + 1] = k end end
  table.sort(keys)
  return keys
end

local function decode_error(s, pos, what)
  error(("json: %s at byte %d"):format(what, pos), 0)
end

local function skip(s, pos)
  return s:find("[^ \t\r\n]", pos) or #s + 1
end

local ESC_CHARS = {['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n",
                   r = "\r", t = "\t"}

local function decode_string(s, pos) -- pos at the opening quote
  local parts, i = {}, pos + 1
  while true do
    local j = s:find('["\\%c]', i)
    if not j then decode_error(s, pos, "unterminated string") end
    parts[#parts + 1] = s:sub(i, j - 1)
    local c = s:sub(j, j)
    if c == '"' then return table.concat(parts), j + 1 end
    if c ~= "\\" then decode_error(s, j, "control character in a string") end
    local e = s:sub(j + 1, j + 1)
    if ESC_CHARS[e] then
      parts[#parts + 1] = ESC_CHARS[e]
      i = j + 2
    elseif e == "u" then
      local hex = s:match("^%x%x%x%x", j + 2)
      if not hex then decode_error(s, j, "bad \\u escape") end
      local cp, nexti = tonumber(hex, 16), j + 6
      if cp >= 0xD800 and cp <= 0xDBFF then -- a surrogate pair
        local lo = s:match("^\\u(%x%x%x%x)", nexti)
        lo = lo and tonumber(lo, 16)
        if lo and lo >= 0xDC00 and lo <= 0xDFFF then
          cp, nexti = 0x10000 + (cp - 0xD800) * 0x400 + (lo - 0xDC00), nexti + 6
        end
      end
      parts[#parts + 1] = utf8.char(cp)
      i = nexti
    else
      decode_error(s, j, "bad escape")
    end
  end
end

local decode_value

local function decode_array(s, pos)
  local arr, n = {}, 0
  pos = skip(s, pos + 1)
  if s:sub(pos, pos) == "]" then return arr, pos + 1 end
  while true do
    local v
    v, pos = decode_value(s, pos)
    n = n + 1
    arr[n] = v == nil and M.null or v
    pos = skip(s, pos)
    local c = s:sub(pos, pos)
    if c == "]" then return arr, pos + 1 end
    if c ~= "," then decode_error(s, pos, "expected ',' or ']'") end
    pos = skip(s, pos + 1)
  end
end

local function decode_object(s, pos)
  local obj, keys = {}, {}
  pos = skip(s, pos + 1)
  if s:sub(pos, pos) == "}" then
    key_order[obj] = keys
    return obj, pos + 1
  end
  while true do
    if s:sub(pos, pos) ~= '"' then decode_error(s, pos, "expected a string key") end
    local k
    k, pos = decode_string(s, pos)
    pos = skip(s, pos)
    if s:sub(pos, pos) ~= ":" then decode_error(s, pos, "expected ':'") end
    local v
    v, pos = decode_value(s, skip(s, pos + 1))
    if obj[k] == nil then keys[#keys + 1] = k end
    obj[k] = v
    pos = skip(s, pos)
    local c = s:sub(pos, pos)
    if c == "}" then
      key_order[obj] = keys
      return obj, pos + 1
    end
    if c ~= "," then decode_error(s, pos, "expected ',' or '}'") end
    pos = skip(s, pos + 1)
  end
end

-- Returns the value at pos (nil for null) and the position after it.
function decode_value(s, pos)
  local c = s:sub(pos, pos)
  if c == "{" then return decode_object(s, pos) end
  if c == "[" then return decode_array(s, pos) end
  if c == '"' then return decode_string(s, pos) end
  if s:find("^true", pos) then return true, pos + 4 end
  if s:find("^false", pos) then return false, pos + 5 end
  if s:find("^null", pos) then return nil, pos + 4 end
  local num = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
  if num and num ~= "" and num ~= "-" then
    local x = math.tointeger(tonumber(num)) or tonumber(num)
    if x then return x, pos + #num end
  end
  decode_error(s, pos, pos > #s and "unexpected end of input" or "unexpected character")
end

function M.decode(s)
  if type(s) ~= "string" then error("json.decode: expected a string, got " .. type(s), 2) end
  local v, pos = decode_value(s, skip(s, 1))
  pos = skip(s, pos)
  if pos <= #s then decode_error(s, pos, "trailing characters") end
  return v
end

return M
