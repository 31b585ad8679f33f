-- loupe.nn — layers, containers and losses as modules (the Lua side of torch.nn).
--
-- Layers call the C kernels in loupe.functional; containers, hooks, state dicts and the
-- architectures (loupe.models) are Lua. Conventions, as in the rest of loupe: dimensions
-- and class labels are 1-based, options go in a trailing table, names and reprs follow
-- PyTorch so that torchvision state_dicts load unchanged and print(model) reads the same.
--
--   local nn = loupe.nn
--   local net = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
--   local loss = nn.CrossEntropyLoss()(net(x), y)
--
-- Files: Module.lua (base class: registries, traversal, state_dict, hooks, repr),
-- containers.lua, one file per layer family, loss.lua, capture.lua, weight_init.lua (nn.init).
local containers = require "loupe.nn.containers"
local batchnorm = require "loupe.nn.BatchNorm"
local pooling = require "loupe.nn.pooling"
local activation = require "loupe.nn.activation"
local flatten = require "loupe.nn.Flatten"
local loss = require "loupe.nn.loss"

return {
  Module = require "loupe.nn.Module",
  Sequential = containers.Sequential,
  ModuleList = containers.ModuleList,
  Linear = require "loupe.nn.Linear",
  Bilinear = require "loupe.nn.Bilinear",
  Conv2d = require "loupe.nn.Conv2d",
  BatchNorm1d = batchnorm.BatchNorm1d,
  BatchNorm2d = batchnorm.BatchNorm2d,
  MaxPool2d = pooling.MaxPool2d,
  AvgPool2d = pooling.AvgPool2d,
  AdaptiveAvgPool2d = pooling.AdaptiveAvgPool2d,
  AdaptiveMaxPool2d = pooling.AdaptiveMaxPool2d,
  ReLU = activation.ReLU,
  Sigmoid = activation.Sigmoid,
  Tanh = activation.Tanh,
  Dropout = require "loupe.nn.Dropout",
  Flatten = flatten.Flatten,
  Identity = flatten.Identity,
  CrossEntropyLoss = loss.CrossEntropyLoss,
  NLLLoss = loss.NLLLoss,
  MSELoss = loss.MSELoss,
  BCEWithLogitsLoss = loss.BCEWithLogitsLoss,
  accuracy = loss.accuracy,
  capture = require "loupe.nn.capture",
  init = require "loupe.nn.weight_init",
  class = require "loupe.class",
}
