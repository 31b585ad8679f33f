-- data/dataset.lua — the dataset object every reader of loupe.data returns, and the options
-- they share (labels, grayscale, flatten).
--
--   ds.x          uint8 [N, C, H, W] as stored (float32 [N, 1, H, W] after grayscale of RGB;
--                 [N, C*H*W] with flatten)
--   ds.y          int64 [N], class labels 1..#ds.classes; a script may assign a new one
--   ds.classes    class names, ds.classes[label]
--   ds.name       e.g. "mnist"; ds.split, e.g. "train"
--   #ds           N;  ds[i] -> {x = ds.x[i], y = label} (a view and a Lua integer);
--   ds:get(i)     -> x_i, y_i as two values
--   ds:loader{batch_size =, shuffle =, drop_last =, seed =, transform =}
--                 float32 batches in [0, 1] (lua/loupe/data/loader.lua)
--
-- Options (applied in this order):
--   labels = {6, 9}     keep those classes only, renumbered 1..k in the order given (class
--                       names work too: {"dog", "ship"}); ds.classes follows
--   grayscale = true    RGB -> one channel, 0.2989 R + 0.587 G + 0.114 B on the [0, 1] values
--                       (torchvision's Grayscale on to_tensor's output, bit for bit). The result
--                       is float32 in [0, 1], not uint8: rounding to uint8 (PIL's convert("L"))
--                       would move pixels by up to 0.5/255 from the PyTorch reference pipeline,
--                       and one float32 channel costs only 4/3 of the three uint8 channels it
--                       replaces. Datasets that are gray already stay uint8.
--   flatten = true      x becomes [N, C*H*W] (a view)
local loupe = require "loupe"
local D = loupe._data

local M = {}

local Dataset = {}
M.Dataset = Dataset

local function shape(t) return "[" .. table.concat(t:shape(), ",") .. "]" end

local function sample(ds, i)
  local n = ds.x:size(1)
  if math.type(i) ~= "integer" or i < 1 or i > n then
    error(("%s: index %s out of range 1..%d"):format(ds.name, tostring(i), n), 3)
  end
  return ds.x[i], ds.y[i]:item()
end

Dataset.__index = function(ds, k)
  if math.type(k) == "integer" then
    local x, y = sample(ds, k)
    return {x = x, y = y}
  end
  return Dataset[k]
end
Dataset.__len = function(ds) return ds.x:size(1) end
Dataset.__tostring = function(ds)
  return ("%s%s: %d samples, x %s %s, %d classes"):format(ds.name,
    ds.split and " (" .. ds.split .. ")" or "", ds.x:size(1), ds.x:dtype(), shape(ds.x),
    #ds.classes)
end

function Dataset:get(i) return sample(self, i) end
function Dataset:loader(opts) return require("loupe.data.loader")(self, opts) end

-- A dataset from its fields: x (uint8 or float32 [N, ...]), y (int64 [N], 1-based), classes
-- (names; default "1".."max label"), name, split, plus any others the caller adds.
function M.new(fields)
  local name = fields.name or "dataset"
  local x, y = fields.x, fields.y
  if not loupe.is_tensor(x) or (x:dtype() ~= "uint8" and x:dtype() ~= "float32") or x:dim() < 1 then
    error(("%s: x must be a uint8 or float32 tensor [N, ...]"):format(name), 2)
  end
  if not loupe.is_tensor(y) or y:dtype() ~= "int64" or y:dim() ~= 1 or y:size(1) ~= x:size(1) then
    error(("%s: y must be int64 labels [%d], got %s"):format(name, x:size(1),
      loupe.is_tensor(y) and y:dtype() .. " " .. shape(y) or type(y)), 2)
  end
  local ds = {}
  for k, v in pairs(fields) do ds[k] = v end
  ds.name = name
  if not ds.classes then
    local k = y:numel() > 0 and y:float():max():item() or 0
    ds.classes = {}
    for c = 1, k do ds.classes[c] = tostring(c) end
  end
  return setmetatable(ds, Dataset)
end

-- ---- options shared by the readers ----

-- Checks that opts (a table or nil) holds only the keys in `allowed` (a list).
function M.check_options(name, opts, allowed, level)
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    error(("%s: expected an options table, got %s"):format(name, type(opts)), level + 1)
  end
  local ok = {}
  for _, k in ipairs(allowed) do ok[k] = true end
  for k in pairs(opts) do
    if not ok[k] then
      error(("%s: unknown option '%s' (options: %s)"):format(name, tostring(k),
        table.concat(allowed, ", ")), level + 1)
    end
  end
  return opts
end

-- The class numbers that `labels` names (numbers or class names), checked.
function M.resolve_labels(name, labels, classes, level)
  if type(labels) ~= "table" or #labels == 0 then
    error(("%s: labels must be a non-empty list of classes, e.g. {1, 2}"):format(name), level + 1)
  end
  local keep, seen = {}, {}
  for i, l in ipairs(labels) do
    local c = l
    if type(l) == "string" then
      for j, cname in ipairs(classes) do if cname == l then c = j end end
    end
    if math.type(c) ~= "integer" or c < 1 or c > #classes then
      error(("%s: labels[%d] = %s is not a class (1..%d or one of the class names)"):format(
        name, i, tostring(l), #classes), level + 1)
    end
    if seen[c] then error(("%s: class %s appears twice in labels"):format(name, tostring(l)), level + 1) end
    seen[c] = true
    keep[i] = c
  end
  return keep
end

-- Applies labels, grayscale and flatten to fields {x, y, classes, name} and returns the
-- dataset. `level` as for error(), counted from the caller.
function M.finish(fields, opts, level)
  local name = fields.name
  if opts.labels ~= nil then
    local keep = M.resolve_labels(name, opts.labels, fields.classes, level + 1)
    local idx, y = D.select_labels(fields.y, keep)
    fields.x = fields.x:index_select(1, idx)
    fields.y = y
    local classes = {}
    for i, c in ipairs(keep) do classes[i] = fields.classes[c] end
    fields.classes = classes
  end
  if opts.grayscale then
    local x = fields.x
    if x:dim() ~= 4 or (x:size(2) ~= 1 and x:size(2) ~= 3) then
      error(("%s: grayscale needs images [N, 1 or 3, H, W], got %s"):format(name, shape(x)), level + 1)
    end
    if x:size(2) == 3 then fields.x = D.rgb_to_gray(x) end
  end
  if opts.flatten then
    fields.x = fields.x:reshape(fields.x:size(1), -1)
  end
  return M.new(fields)
end

-- ---- where datasets live ----

local DEFAULT_ROOT = "./datasets"

-- The fetch script's own default root.
local function fetch_default()
  local env = os.getenv("LOUPE_DATA")
  return (env and env ~= "") and env or DEFAULT_ROOT
end

-- The datasets root: opts.root, else $LOUPE_DATA, else ./datasets. `level` as for error().
function M.root(name, opts, level)
  if opts.root ~= nil then
    if type(opts.root) ~= "string" then
      error(("%s: root must be a folder name, got %s"):format(name, type(opts.root)), level + 1)
    end
    return opts.root
  end
  return fetch_default()
end

function M.exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

-- path, or path .. ".gz", whichever exists (nil if neither).
function M.find(path)
  if M.exists(path) then return path end
  if M.exists(path .. ".gz") then return path .. ".gz" end
  return nil
end

-- Raises "<name>: <what> not found in <dir> — run: datasets/fetch <fetch> [root]".
function M.missing(name, what, dir, fetch, root, level)
  local cmd = "datasets/fetch " .. fetch
  if root ~= fetch_default() then cmd = cmd .. " " .. root end
  error(("%s: %s not found in %s — run: %s"):format(name, what, dir, cmd), level + 1)
end

return M
