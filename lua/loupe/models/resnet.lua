-- resnet.lua — ResNet-18/34/50 with torchvision's structure, parameter names and
-- initialisation, so torchvision state_dicts (converted to safetensors) load unchanged:
-- conv1 (7x7, stride 2), bn1, relu, maxpool, layer1..layer4 (Sequentials of BasicBlock or
-- Bottleneck, the first block of a stage downsampling through
-- downsample = Sequential(conv1x1, BatchNorm2d)), avgpool = AdaptiveAvgPool2d((1, 1)), fc.
--
--   models.resnet18({num_classes = 1000, in_channels = 3, small_input = false,
--                    layers = {2, 2, 2, 2}, width = 64})
--
-- Options beyond torchvision's:
--   in_channels   input channels of conv1 (1 for grayscale images).
--   small_input   (or stem = "cifar") for 28x28 / 32x32 images: conv1 becomes 3x3 stride 1
--                 padding 1 and maxpool becomes nn.Identity, so the key names stay
--                 torchvision's (conv1.weight has shape [64, C, 3, 3]).
--   layers        blocks per stage (resnet18 is {2, 2, 2, 2}); for small test networks.
--   width         planes of the first stage (64); stage k has width * 2^(k-1) planes.
-- Initialisation as torchvision: convolutions kaiming_normal (fan_out, relu), BatchNorm
-- weight 1 and bias 0, fc PyTorch's Linear default (zero_init_residual is not offered).
local class = require "loupe.class"
local nn = require "loupe.nn"
local args = require "loupe.nn.args"

local function conv3x3(cin, cout, stride)
  return nn.Conv2d(cin, cout, 3, {stride = stride, padding = 1, bias = false})
end

local function conv1x1(cin, cout, stride)
  return nn.Conv2d(cin, cout, 1, {stride = stride, bias = false})
end

local BasicBlock = class("BasicBlock", nn.Module)
BasicBlock.expansion = 1

function BasicBlock:__init(inplanes, planes, stride, downsample)
  nn.Module.__init(self)
  self.conv1 = conv3x3(inplanes, planes, stride)
  self.bn1 = nn.BatchNorm2d(planes)
  self.relu = nn.ReLU({inplace = true})
  self.conv2 = conv3x3(planes, planes, 1)
  self.bn2 = nn.BatchNorm2d(planes)
  if downsample then self.downsample = downsample end
end

function BasicBlock:forward(x)
  local out = self.relu(self.bn1(self.conv1(x)))
  out = self.bn2(self.conv2(out))
  local identity = self.downsample and self.downsample(x) or x
  return self.relu(out + identity)
end

local Bottleneck = class("Bottleneck", nn.Module)
Bottleneck.expansion = 4

function Bottleneck:__init(inplanes, planes, stride, downsample)
  nn.Module.__init(self)
  self.conv1 = conv1x1(inplanes, planes, 1)
  self.bn1 = nn.BatchNorm2d(planes)
  self.conv2 = conv3x3(planes, planes, stride)
  self.bn2 = nn.BatchNorm2d(planes)
  self.conv3 = conv1x1(planes, planes * 4, 1)
  self.bn3 = nn.BatchNorm2d(planes * 4)
  self.relu = nn.ReLU({inplace = true})
  if downsample then self.downsample = downsample end
end

function Bottleneck:forward(x)
  local out = self.relu(self.bn1(self.conv1(x)))
  out = self.relu(self.bn2(self.conv2(out)))
  out = self.bn3(self.conv3(out))
  local identity = self.downsample and self.downsample(x) or x
  return self.relu(out + identity)
end

local ResNet = class("ResNet", nn.Module)

-- block: BasicBlock or Bottleneck; layers: blocks per stage (4 integers).
function ResNet:__init(block, layers, opts)
  nn.Module.__init(self)
  opts = args.options(opts, {"num_classes", "in_channels", "small_input", "stem", "width"}, "ResNet")
  if type(layers) ~= "table" or #layers ~= 4 then
    error("ResNet: layers must be a list of 4 block counts", 0)
  end
  if opts.stem ~= nil and opts.stem ~= "cifar" and opts.stem ~= "imagenet" then
    error(("ResNet: stem must be 'imagenet' or 'cifar', got '%s'"):format(tostring(opts.stem)), 0)
  end
  local width = args.int(opts.width or 64, "width", "ResNet")
  local in_channels = args.int(opts.in_channels or 3, "in_channels", "ResNet")
  local num_classes = args.int(opts.num_classes or 1000, "num_classes", "ResNet")
  local small = opts.small_input or opts.stem == "cifar"
  self.inplanes = width
  if small then
    self.conv1 = nn.Conv2d(in_channels, width, 3, {stride = 1, padding = 1, bias = false})
  else
    self.conv1 = nn.Conv2d(in_channels, width, 7, {stride = 2, padding = 3, bias = false})
  end
  self.bn1 = nn.BatchNorm2d(width)
  self.relu = nn.ReLU({inplace = true})
  self.maxpool = small and nn.Identity() or nn.MaxPool2d(3, {stride = 2, padding = 1})
  for i = 1, 4 do
    local n = args.int(layers[i], "layers[" .. i .. "]", "ResNet")
    self["layer" .. i] = self:_make_layer(block, width << (i - 1), n, i == 1 and 1 or 2)
  end
  self.avgpool = nn.AdaptiveAvgPool2d({1, 1})
  self.fc = nn.Linear(width * 8 * block.expansion, num_classes)

  for _, m in ipairs(self:modules()) do
    if class.is_instance(m, nn.Conv2d) then
      nn.init.kaiming_normal_(m.weight, {mode = "fan_out", nonlinearity = "relu"})
    elseif class.is_instance(m, nn.BatchNorm2d) then
      nn.init.ones_(m.weight)
      nn.init.zeros_(m.bias)
    end
  end
end

function ResNet:_make_layer(block, planes, blocks, stride)
  local downsample
  if stride ~= 1 or self.inplanes ~= planes * block.expansion then
    downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                               nn.BatchNorm2d(planes * block.expansion))
  end
  local layer = nn.Sequential(block(self.inplanes, planes, stride, downsample))
  self.inplanes = planes * block.expansion
  for _ = 2, blocks do layer:append(block(self.inplanes, planes, 1)) end
  return layer
end

function ResNet:forward(x)
  x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
  x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
  return self.fc(self.avgpool(x):flatten(2))
end

local function builder(block, layers)
  return function(opts)
    opts = opts or {}
    local rest = {}
    for k, v in pairs(opts) do if k ~= "layers" then rest[k] = v end end
    return ResNet(block, opts.layers or layers, rest)
  end
end

return {
  ResNet = ResNet,
  BasicBlock = BasicBlock,
  Bottleneck = Bottleneck,
  resnet18 = builder(BasicBlock, {2, 2, 2, 2}),
  resnet34 = builder(BasicBlock, {3, 4, 6, 3}),
  resnet50 = builder(Bottleneck, {3, 4, 6, 3}),
}
