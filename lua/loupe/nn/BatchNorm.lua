-- BatchNorm.lua — nn.BatchNorm1d(c) over [N, C] or [N, C, L] and nn.BatchNorm2d(c) over
-- [N, C, H, W], options {eps = 1e-5, momentum = 0.1, affine = true,
-- track_running_stats = true}, as torch.nn. In training mode the batch statistics normalise
-- and the running ones are updated (unbiased variance, `momentum` weight on the new value)
-- and num_batches_tracked (int64, as PyTorch) counts the updates; in eval mode the running
-- statistics normalise. Without tracked statistics the batch statistics are always used.
local loupe = require "loupe"
local class = require "loupe.class"
local Module = require "loupe.nn.Module"
local args = require "loupe.nn.args"
local repr = require "loupe.nn.repr"

local BatchNorm = class("_BatchNorm", Module)

function BatchNorm:__init(num_features, opts)
  Module.__init(self)
  local what = class.name_of(self)
  opts = args.options(opts, {"eps", "momentum", "affine", "track_running_stats"}, what)
  self.num_features = args.int(num_features, "num_features", what)
  self.eps = opts.eps or 1e-5
  self.momentum = opts.momentum or 0.1
  self.affine = opts.affine ~= false
  self.track_running_stats = opts.track_running_stats ~= false
  local c = num_features
  self:register_parameter("weight", self.affine and loupe.ones(c):requires_grad_() or nil)
  self:register_parameter("bias", self.affine and loupe.zeros(c):requires_grad_() or nil)
  local track = self.track_running_stats
  self:register_buffer("running_mean", track and loupe.zeros(c) or nil)
  self:register_buffer("running_var", track and loupe.ones(c) or nil)
  self:register_buffer("num_batches_tracked", track and loupe.tensor(0, "int64") or nil)
end

-- Sets the running statistics back to mean 0, variance 1, no batches seen.
function BatchNorm:reset_running_stats()
  if self.track_running_stats then
    loupe.no_grad(function()
      self.running_mean:zero_()
      self.running_var:fill_(1)
      self.num_batches_tracked:zero_()
    end)
  end
end

function BatchNorm:forward(x)
  self:_check_input(x)
  local training, rm, rv = self.training, nil, nil
  if not training or self.track_running_stats then rm, rv = self.running_mean, self.running_var end
  local y = args.functional("batch_norm")(x, rm, rv, self.weight, self.bias,
    {training = training or rm == nil, momentum = self.momentum, eps = self.eps})
  if training and self.track_running_stats then -- counted after success, so a bad input doesn't
    local n = self.num_batches_tracked
    n:fill_(n:item() + 1)
  end
  return y
end

function BatchNorm:extra_repr()
  return ("%d, %s"):format(self.num_features, repr.kwargs({{"eps", self.eps},
    {"momentum", self.momentum}, {"affine", self.affine},
    {"track_running_stats", self.track_running_stats}}))
end

local BatchNorm1d = class("BatchNorm1d", BatchNorm)

function BatchNorm1d:_check_input(x)
  if x:dim() ~= 2 and x:dim() ~= 3 then
    error(("BatchNorm1d: expected 2D or 3D input (got %dD input)"):format(x:dim()), 0)
  end
end

local BatchNorm2d = class("BatchNorm2d", BatchNorm)

function BatchNorm2d:_check_input(x)
  if x:dim() ~= 4 then
    error(("BatchNorm2d: expected 4D input (got %dD input)"):format(x:dim()), 0)
  end
end

return {BatchNorm1d = BatchNorm1d, BatchNorm2d = BatchNorm2d}
