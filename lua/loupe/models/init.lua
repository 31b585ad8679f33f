-- loupe.models — architectures with torchvision's structure and parameter names, so a
-- torchvision state_dict (as safetensors) loads with model:load_state_dict.
--
--   local model = loupe.models.resnet18({num_classes = 10, small_input = true})
--   local sq = loupe.models.squeezenet1_1()
--   sq:load_state_dict(loupe.load("datasets/weights/squeezenet1_1.safetensors"))
--   local body = model:truncate(8)       -- Sequential(*list(model.children())[:8])
--   local net = loupe.nn.Sequential(body, loupe.models.heads.fastai_head(512, 10))
--   model.fc = loupe.nn.Linear(512, 10)  -- assigning a child replaces it in place
--   local bil = loupe.models.bilinear_mlp{d_hidden = 512, seed = 420}  -- models/bilinear.lua
local resnet = require "loupe.models.resnet"
local squeezenet = require "loupe.models.squeezenet"
local bilinear = require "loupe.models.bilinear"

return {
  ResNet = resnet.ResNet,
  BasicBlock = resnet.BasicBlock,
  Bottleneck = resnet.Bottleneck,
  resnet18 = resnet.resnet18,
  resnet34 = resnet.resnet34,
  resnet50 = resnet.resnet50,
  SqueezeNet = squeezenet.SqueezeNet,
  Fire = squeezenet.Fire,
  squeezenet1_0 = squeezenet.squeezenet1_0,
  squeezenet1_1 = squeezenet.squeezenet1_1,
  BilinearMLP = bilinear.BilinearMLP,
  bilinear_mlp = bilinear.bilinear_mlp,
  heads = require "loupe.models.heads",
}
