-- test_squeezenet_photos.lua — the whole image path on real photos: JPEG decoding, antialiased
-- resize, centre crop, normalisation and SqueezeNet 1.1 with its real ImageNet weights must
-- give the published top-5 on Debian darknet's dog.jpg and eagle.jpg (datasets/photos/).
--
-- Reference values (datasets/weights/README.md) come from torchvision's PIL pipeline:
-- PIL resizes the uint8 image and rounds the result to uint8 before to_tensor. loupe resizes
-- the float image, as torchvision does on tensors: F.resize(to_tensor(img), 256,
-- antialias=True), center_crop 224, normalize. That tensor pipeline, run with torchvision 0.14
-- and these weights, gives
--   dog.jpg:   dogsled 0.9242, malamute 0.0250, Eskimo dog 0.0200, Siberian husky 0.0081,
--              Saluki 0.0044
--   eagle.jpg: kite 0.6425, bald eagle 0.2978, hen 0.0172, vulture 0.0083, ostrich 0.0079
-- The two pipelines' inputs differ by at most one uint8 level (0.0167 after normalisation),
-- which is the whole residual between them (up to 0.0075 in a probability). loupe reproduces
-- the tensor pipeline to 1e-4, and the PIL values to within the 0.02 the test allows.
local loupe = require "loupe"
local T = require "testlib"
local TF = loupe.transforms

local WEIGHTS = "datasets/weights/squeezenet1_1.safetensors"
local CLASSES = "datasets/imagenet_classes.txt"

-- {class name (first of the synonyms), PIL-pipeline probability, tensor-pipeline probability}
local EXPECTED = {
  dog = {{"dogsled", 0.919, 0.9242}, {"malamute", 0.027, 0.0250}, {"Eskimo dog", 0.022, 0.0200},
         {"Siberian husky", 0.009, 0.0081}, {"Saluki", 0.005, 0.0044}},
  eagle = {{"kite", 0.635, 0.6425}, {"bald eagle", 0.305, 0.2978}, {"hen", 0.017, 0.0172},
           {"vulture", 0.008, 0.0083}, {"ostrich", 0.008, 0.0079}},
}

local function class_names()
  local names = {}
  for line in io.lines(CLASSES) do
    names[#names + 1] = assert(line:match("^n%d+\t([^,]+)"), "bad line in " .. CLASSES)
  end
  T.eq(#names, 1000, "classes")
  return names
end

-- the k largest entries of a 1-D tensor as {index, value}, largest first
local function topk(p, k)
  local v = p:totable()
  local idx = {}
  for i = 1, #v do idx[i] = i end
  table.sort(idx, function(a, b) return v[a] > v[b] end)
  local out = {}
  for i = 1, k do out[i] = {idx[i], v[idx[i]]} end
  return out
end

local function preprocess(path)
  local img = loupe.image.load(path)
  return TF.normalize(TF.center_crop(TF.resize(img, 256), 224), TF.IMAGENET_MEAN, TF.IMAGENET_STD)
end

local tests = {}

function tests.top5_of_dog_and_eagle()
  local names = class_names()
  local model = loupe.models.squeezenet1_1()
  model:load_state_dict(loupe.load(WEIGHTS))
  model:eval()
  local batch = loupe.stack({preprocess("datasets/photos/dog.jpg"),
                             preprocess("datasets/photos/eagle.jpg")})
  local probs = loupe.no_grad(function() return model(batch):softmax(2) end)
  for i, photo in ipairs{"dog", "eagle"} do
    local got = topk(probs[i], 5)
    for r, want in ipairs(EXPECTED[photo]) do
      local what = ("%s.jpg rank %d"):format(photo, r)
      T.eq(names[got[r][1]], want[1], what)
      local p = got[r][2]
      if math.abs(p - want[2]) > 0.02 then
        error(("%s: probability %.4f, PIL pipeline %.3f (allowed 0.02)"):format(what, p, want[2]))
      end
      if math.abs(p - want[3]) > 1e-3 then
        error(("%s: probability %.4f, torchvision tensor pipeline %.4f"):format(what, p, want[3]))
      end
    end
  end
end

return tests
