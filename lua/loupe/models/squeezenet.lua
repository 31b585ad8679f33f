-- squeezenet.lua — SqueezeNet 1.0 and 1.1 with torchvision's structure, names and
-- initialisation: features = Sequential of Conv2d, ReLU, MaxPool2d(3, 2, ceil_mode) and Fire
-- modules (squeeze, squeeze_activation, expand1x1, expand1x1_activation, expand3x3,
-- expand3x3_activation), classifier = Sequential(Dropout, Conv2d(512, num_classes, 1), ReLU,
-- AdaptiveAvgPool2d((1, 1))), then a flatten to [N, num_classes].
--
--   local model = models.squeezenet1_1({num_classes = 1000, dropout = 0.5})
--   model:load_state_dict(loupe.load("datasets/weights/squeezenet1_1.safetensors"))
local class = require "loupe.class"
local nn = require "loupe.nn"
local args = require "loupe.nn.args"

local Fire = class("Fire", nn.Module)

function Fire:__init(inplanes, squeeze_planes, expand1x1_planes, expand3x3_planes)
  nn.Module.__init(self)
  self.inplanes = inplanes
  self.squeeze = nn.Conv2d(inplanes, squeeze_planes, 1)
  self.squeeze_activation = nn.ReLU({inplace = true})
  self.expand1x1 = nn.Conv2d(squeeze_planes, expand1x1_planes, 1)
  self.expand1x1_activation = nn.ReLU({inplace = true})
  self.expand3x3 = nn.Conv2d(squeeze_planes, expand3x3_planes, 3, {padding = 1})
  self.expand3x3_activation = nn.ReLU({inplace = true})
end

function Fire:forward(x)
  x = self.squeeze_activation(self.squeeze(x))
  -- the channel dimension is 2 for batches [N, C, H, W] and 1 for single images [C, H, W]
  return require("loupe").cat({self.expand1x1_activation(self.expand1x1(x)),
                               self.expand3x3_activation(self.expand3x3(x))}, x:dim() - 2)
end

local SqueezeNet = class("SqueezeNet", nn.Module)

local function pool() return nn.MaxPool2d(3, {stride = 2, ceil_mode = true}) end

function SqueezeNet:__init(version, opts)
  nn.Module.__init(self)
  opts = args.options(opts, {"num_classes", "dropout"}, "SqueezeNet")
  self.num_classes = args.int(opts.num_classes or 1000, "num_classes", "SqueezeNet")
  if version == "1_0" then
    self.features = nn.Sequential(
      nn.Conv2d(3, 96, 7, {stride = 2}), nn.ReLU({inplace = true}), pool(),
      Fire(96, 16, 64, 64), Fire(128, 16, 64, 64), Fire(128, 32, 128, 128), pool(),
      Fire(256, 32, 128, 128), Fire(256, 48, 192, 192), Fire(384, 48, 192, 192),
      Fire(384, 64, 256, 256), pool(), Fire(512, 64, 256, 256))
  elseif version == "1_1" then
    self.features = nn.Sequential(
      nn.Conv2d(3, 64, 3, {stride = 2}), nn.ReLU({inplace = true}), pool(),
      Fire(64, 16, 64, 64), Fire(128, 16, 64, 64), pool(),
      Fire(128, 32, 128, 128), Fire(256, 32, 128, 128), pool(),
      Fire(256, 48, 192, 192), Fire(384, 48, 192, 192), Fire(384, 64, 256, 256),
      Fire(512, 64, 256, 256))
  else
    error(("SqueezeNet: unsupported version %s: '1_0' or '1_1' expected"):format(tostring(version)), 0)
  end
  local final_conv = nn.Conv2d(512, self.num_classes, 1)
  self.classifier = nn.Sequential(nn.Dropout(opts.dropout or 0.5), final_conv,
                                  nn.ReLU({inplace = true}), nn.AdaptiveAvgPool2d({1, 1}))
  for _, m in ipairs(self:modules()) do
    if class.is_instance(m, nn.Conv2d) then
      if m == final_conv then
        nn.init.normal_(m.weight, 0, 0.01)
      else
        nn.init.kaiming_uniform_(m.weight)
      end
      nn.init.zeros_(m.bias)
    end
  end
end

function SqueezeNet:forward(x)
  local y = self.classifier(self.features(x))
  return y:flatten(y:dim() - 2) -- [N, classes] (or [classes] for a single image)
end

return {
  SqueezeNet = SqueezeNet,
  Fire = Fire,
  squeezenet1_0 = function(opts) return SqueezeNet("1_0", opts) end,
  squeezenet1_1 = function(opts) return SqueezeNet("1_1", opts) end,
}
