-- data/image_folder.lua — a folder of PNG / JPEG images, one subfolder per class: the layout
-- torchvision's ImageFolder and fastai's from_folder read (decoding: src/data/folder.c).
--
--   loupe.data.image_folder{root = "photos", split = nil, size = nil, classes = nil,
--                           grayscale =, labels =, flatten =}
--
--   root/<class>/<file>                    split = nil
--   root/<split>/<class>/<file>            split = "train", "valid", ... (fastai's layout)
--
-- As ImageFolder: classes are the class folders' names sorted (byte order), a class's files
-- are found recursively (symbolic links followed; folders in the order of Python's
-- sorted(os.walk(...)), files sorted within each), and files are kept by extension, case
-- aside: .png, .jpg, .jpeg (the other extensions ImageFolder accepts, .bmp .ppm .pgm .tif
-- .tiff .webp, are refused with an error rather than silently skipped). Unlike ImageFolder,
-- entries whose name starts with "." are ignored (no ".ipynb_checkpoints" class). With a split,
-- the classes are the union over every split folder of root, so train and valid agree on the
-- labels even if one lacks a class; `classes = {...}` gives them explicitly instead (folders
-- not listed are left out).
--
-- Images are decoded as RGB (PIL's convert("RGB")) into x uint8 [N, 3, H, W]. They must all
-- have one size, unless `size = n` or `{h, w}` resizes each to n x n / h x w with the
-- antialiased bilinear filter (torchvision's resize(antialias=True) on the float image,
-- rounded back to uint8; note that size = n is a square, not torchvision's shorter side).
-- ds.paths[i] is sample i's file.
local loupe = require "loupe"
local dataset = require "loupe.data.dataset"
local D = loupe._data

local OPTIONS = {"root", "split", "size", "classes", "grayscale", "labels", "flatten"}
local DECODED = {png = true, jpg = true, jpeg = true}
local REFUSED = {bmp = true, ppm = true, pgm = true, tif = true, tiff = true, webp = true}
local MAX_DEPTH = 32 -- symbolic link loops end here

-- Byte-order comparison (Lua's < on strings follows the locale's collation).
local function byte_less(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = a:byte(i), b:byte(i)
    if x ~= y then return x < y end
  end
  return #a < #b
end

local function subfolders(dir)
  local names = {}
  for _, e in ipairs(D.list_dir(dir)) do
    if e.dir then names[#names + 1] = e.name end
  end
  return names
end

-- Every folder under dir (dir included), as full paths.
local function folders_under(dir, depth, out)
  if depth > MAX_DEPTH then
    error(("image_folder: folders nested deeper than %d levels under '%s' (a symbolic link "
           .. "loop?)"):format(MAX_DEPTH, dir), 0)
  end
  out[#out + 1] = dir
  for _, name in ipairs(subfolders(dir)) do folders_under(dir .. "/" .. name, depth + 1, out) end
  return out
end

-- The image files of one class folder, in ImageFolder's order.
local function class_files(dir, out)
  local folders = folders_under(dir, 0, {})
  table.sort(folders, byte_less)
  for _, folder in ipairs(folders) do
    for _, e in ipairs(D.list_dir(folder)) do
      local ext = not e.dir and e.name:match("%.([^.]+)$")
      ext = ext and ext:lower()
      if ext and REFUSED[ext] then
        error(("image_folder: '%s/%s' is a .%s file; loupe reads PNG and JPEG only (convert "
               .. "or remove it)"):format(folder, e.name, ext), 0)
      end
      if ext and DECODED[ext] then out[#out + 1] = folder .. "/" .. e.name end
    end
  end
  return out
end

-- The class names: given, or the (union of the splits') class folders, sorted.
local function class_list(opts, root, dir)
  if opts.classes ~= nil then
    if type(opts.classes) ~= "table" or #opts.classes == 0 then
      error("image_folder: classes must be a non-empty list of folder names", 3)
    end
    return {table.unpack(opts.classes)}
  end
  local seen, classes = {}, {}
  for _, d in ipairs(opts.split and subfolders(root) or {false}) do
    for _, c in ipairs(subfolders(d and root .. "/" .. d or dir)) do
      if not seen[c] then seen[c] = true; classes[#classes + 1] = c end
    end
  end
  if #classes == 0 then error(("image_folder: no class folders in '%s'"):format(dir), 3) end
  table.sort(classes, byte_less)
  return classes
end

local M = {}

function M.image_folder(opts)
  opts = dataset.check_options("image_folder", opts, OPTIONS, 2)
  local root = opts.root
  if type(root) ~= "string" then
    error("image_folder: root = \"folder\" is required (it holds one folder per class)", 2)
  end
  if opts.split ~= nil and type(opts.split) ~= "string" then
    error("image_folder: split must be a folder name such as \"train\"", 2)
  end
  local dir = opts.split and root .. "/" .. opts.split or root
  D.list_dir(dir) -- a missing folder is an error naming it
  local all = class_list(opts, root, dir)
  -- labels = {...} picks classes before decoding: label_of[c] is class c's new label
  local classes, label_of = all, {}
  if opts.labels ~= nil then
    classes = {}
    for j, c in ipairs(dataset.resolve_labels("image_folder", opts.labels, all, 2)) do
      label_of[c] = j
      classes[j] = all[c]
    end
  else
    for c = 1, #all do label_of[c] = c end
  end
  local paths, labels = {}, {}
  for c, name in ipairs(all) do
    local cdir = dir .. "/" .. name
    if label_of[c] and dataset.exists(cdir) then
      local first = #paths + 1
      class_files(cdir, paths)
      for i = first, #paths do labels[i] = label_of[c] end
    end
  end
  if #paths == 0 then
    error(("image_folder: no .png, .jpg or .jpeg files in the class folders of '%s'"):format(dir), 2)
  end
  local x = D.read_images(paths, {size = opts.size})
  return dataset.finish({x = x, y = loupe.tensor(labels, "int64"), classes = classes,
                         name = "image_folder", split = opts.split, paths = paths,
                         root = root}, {grayscale = opts.grayscale, flatten = opts.flatten}, 2)
end

return M
