-- heads.lua — classifier heads put on a truncated backbone.
--
-- fastai_head(nf, n_out, opts) builds fastai's create_head (fastai 2.x, vision/learner.py),
-- the head the seeds fine-tune on a ResNet body:
--
--   Sequential(
--     (0): AdaptiveConcatPool2d   cat(max pool, avg pool) over channels -> [N, 2*nf, 1, 1]
--     (1): Flatten                -> [N, 2*nf]
--     (2): BatchNorm1d(2*nf)  (3): Dropout(0.25)  (4): Linear(2*nf, 512, bias=False)  (5): ReLU
--     (6): BatchNorm1d(512)   (7): Dropout(0.5)   (8): Linear(512, n_out, bias=False))
--
-- nf is the number of channels the body outputs (512 for ResNet-18); it is doubled here when
-- concat_pool is on, as in fastai >= 2.5 (older create_head took the doubled value).
-- Options, with fastai's defaults: lin_ftrs = {512} (hidden sizes), ps = 0.5 (one value p
-- gives p/2 for the hidden layers and p for the last; or a list, one per Linear),
-- concat_pool = true, first_bn = true, bn_final = false, lin_bias = false.
-- Each Linear follows a BatchNorm1d, so fastai's LinBnDrop gives it no bias (bias = not bn);
-- lin_bias = true restores the bias (fastai 1.x's bn_drop_lin). Initialisation as fastai's
-- create_cnn_model: Linear weights kaiming_normal (fan_in), biases 0, and BatchNorm weight 1,
-- bias 1e-3 (fastai's BatchNorm). The final BatchNorm1d of bn_final has momentum 0.01.
local loupe = require "loupe"
local class = require "loupe.class"
local nn = require "loupe.nn"
local args = require "loupe.nn.args"

local AdaptiveConcatPool2d = class("AdaptiveConcatPool2d", nn.Module)

-- size: the pooled output size (default 1). Children ap and mp as in fastai; the output
-- puts the max pool first: [N, 2C, size, size].
function AdaptiveConcatPool2d:__init(size)
  nn.Module.__init(self)
  self.size = size or 1
  self.ap = nn.AdaptiveAvgPool2d(self.size)
  self.mp = nn.AdaptiveMaxPool2d(self.size)
end

function AdaptiveConcatPool2d:forward(x)
  return loupe.cat({self.mp(x), self.ap(x)}, 2)
end

local function fastai_bn(n, momentum)
  local bn = nn.BatchNorm1d(n, momentum and {momentum = momentum} or nil)
  nn.init.ones_(bn.weight)
  nn.init.constant_(bn.bias, 1e-3)
  return bn
end

local function fastai_head(nf, n_out, opts)
  opts = args.options(opts, {"lin_ftrs", "ps", "concat_pool", "first_bn", "bn_final", "lin_bias"},
                      "fastai_head")
  args.int(nf, "nf", "fastai_head")
  args.int(n_out, "n_out", "fastai_head")
  local concat = opts.concat_pool ~= false
  local sizes = {concat and 2 * nf or nf}
  for _, n in ipairs(opts.lin_ftrs or {512}) do sizes[#sizes + 1] = n end
  sizes[#sizes + 1] = n_out
  local n_lin = #sizes - 1
  local ps = opts.ps or 0.5
  if type(ps) == "number" then
    local p = ps
    ps = {}
    for i = 1, n_lin - 1 do ps[i] = p / 2 end
    ps[n_lin] = p
  end
  if #ps ~= n_lin then
    error(("fastai_head: ps has %d values for %d linear layers"):format(#ps, n_lin), 2)
  end

  local head = nn.Sequential(concat and AdaptiveConcatPool2d() or nn.AdaptiveAvgPool2d(1), nn.Flatten())
  for i = 1, n_lin do
    local bn = i > 1 or opts.first_bn ~= false
    if bn then head:append(fastai_bn(sizes[i])) end
    if ps[i] ~= 0 then head:append(nn.Dropout(ps[i])) end
    local lin = nn.Linear(sizes[i], sizes[i + 1], {bias = opts.lin_bias == true or not bn})
    nn.init.kaiming_normal_(lin.weight)
    if lin.bias then nn.init.zeros_(lin.bias) end
    head:append(lin)
    if i < n_lin then head:append(nn.ReLU({inplace = true})) end
  end
  if opts.bn_final then head:append(fastai_bn(n_out, 0.01)) end
  return head
end

return {AdaptiveConcatPool2d = AdaptiveConcatPool2d, fastai_head = fastai_head}
