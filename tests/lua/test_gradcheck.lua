-- test_gradcheck.lua — finite-difference gradient checks (gradcheck.lua) for every
-- differentiable op. One test per case; `every_backward_node_is_checked` scans the C sources
-- for every autograd node name ("...Backward") and fails if no case's output is produced by
-- it, so a new differentiable op cannot land without a gradient check.
--
-- Each case's output is made directly by the op under test (its grad_fn names the node).
-- Inputs are seeded per case and kept farther than eps from the points where an op is not
-- differentiable.
local loupe = require "loupe"
local T = require "testlib"
local gradcheck = require "gradcheck"

-- ---- inputs (fresh leaves; float inputs require grad unless made with `const`) ----

local function leaf(t) return t:requires_grad_() end
local function N(...) return leaf(loupe.randn(...)) end                 -- normal
local function P(...) return leaf(loupe.rand(...) * 1.5 + 0.5) end     -- in [0.5, 2)
local function A(...)                                                   -- |x| >= 0.2
  local x = loupe.randn(...)
  return leaf(x + x:sign() * 0.2)
end
local function U(...)                                                   -- |x| in [0.6, 1.4)
  local x = loupe.rand(...) * 0.8 + 0.6
  return leaf(x * loupe.randn(...):sign())
end
local function D(...)                                                   -- gaps >= 0.15
  local shape = {...}
  local n = 1
  for _, s in ipairs(shape) do n = n * s end
  local x = (loupe.randperm(n):float() - n / 2) * 0.25 + (loupe.rand(n) - 0.5) * 0.1
  return leaf(x:reshape(shape))
end
local function const(t) return t:detach() end
local function idx(t) return loupe.tensor(t, "int64") end
local function mask(...) return loupe.rand(...):lt(0.5) end

-- ---- cases: name, make() -> inputs, fn(inputs...) -> output [, gradcheck options] ----

local cases = {}
local function case(name, make, fn, opts)
  cases[#cases + 1] = {name = name, make = make, fn = fn, opts = opts}
end

-- elementwise binary (broadcasting, non-contiguous operands, scalars on either side)
case("add", function() return {N(3, 4), N(3, 4)} end, function(a, b) return a + b end)
case("add_bcast", function() return {N(3, 1), N(4)} end, function(a, b) return a + b end)
case("add_alpha", function() return {N(3, 4), N(4)} end, function(a, b) return a:add(b, -2.5) end)
case("add_scalar", function() return {N(3, 4)} end, function(x) return 1.5 + x end)
case("sub_bcast", function() return {N(2, 3, 4), N(3, 1)} end, function(a, b) return a - b end)
case("sub_scalar", function() return {N(3, 4)} end, function(x) return 2 - x end)
case("mul_bcast", function() return {N(3, 4), N(4)} end, function(a, b) return a * b end)
case("mul_noncontig", function() return {N(4, 3), N(3, 4)} end, function(a, b) return a:t() * b end)
case("mul_same_input", function() return {N(3, 4)} end, function(x) return x * x end)
case("mul_scalar", function() return {N(3, 4)} end, function(x) return x * -3 end)
case("div_bcast", function() return {N(3, 4), A(3, 1)} end, function(a, b) return a / b end)
case("div_scalar", function() return {A(3, 4)} end, function(x) return 3 / x end)
case("pow", function() return {P(3, 4), N(4)} end, function(a, b) return a ^ b end)
case("pow_scalar", function() return {P(3, 4)} end, function(x) return x ^ 2.5 end)
case("pow_scalar_base", function() return {N(3, 4)} end, function(x) return 2 ^ x end)
case("maximum", function() return {D(3, 4), D(3, 4)} end, function(a, b) return a:maximum(b) end)
case("maximum_bcast", function() return {D(3, 4), D(4)} end, function(a, b) return loupe.maximum(a, b) end)
case("minimum", function() return {D(3, 4), D(3, 4)} end, function(a, b) return a:minimum(b) end)
case("minimum_scalar", function() return {A(3, 4)} end, function(x) return x:minimum(0) end)

-- unary
case("neg", function() return {N(3, 4)} end, function(x) return -x end)
case("abs", function() return {A(3, 4)} end, function(x) return x:abs() end)
case("exp", function() return {N(3, 4)} end, function(x) return x:exp() end)
case("log", function() return {P(3, 4)} end, function(x) return x:log() end)
case("sqrt", function() return {P(3, 4)} end, function(x) return x:sqrt() end)
case("tanh", function() return {N(3, 4)} end, function(x) return x:tanh() end)
case("sigmoid", function() return {N(3, 4)} end, function(x) return x:sigmoid() end)
case("relu", function() return {A(3, 4)} end, function(x) return x:relu() end)
case("relu_noncontig", function() return {A(2, 4, 3)} end, function(x) return x:transpose(2, 3):relu() end)
case("sign", function() return {A(3, 4)} end, function(x) return x:sign() end)
case("sin", function() return {N(3, 4)} end, function(x) return x:sin() end)
case("cos", function() return {N(3, 4)} end, function(x) return x:cos() end)
case("square", function() return {N(3, 4)} end, function(x) return x:square() end)
case("rsqrt", function() return {P(3, 4)} end, function(x) return x:rsqrt() end)
case("reciprocal", function() return {A(3, 4)} end, function(x) return x:reciprocal() end)
case("clamp", function() return {D(3, 4)} end, function(x) return x:clamp(-0.6, 0.6) end)
case("clamp_min", function() return {D(3, 4)} end, function(x) return x:clamp(0.1) end)
case("clamp_max", function() return {D(3, 4)} end, function(x) return x:clamp(nil, 0.35) end)
case("where", function() return {mask(3, 4), N(3, 4), N(4)} end,
     function(c, a, b) return loupe.where(c, a, b) end)
case("where_scalar", function() return {mask(3, 1), N(3, 4)} end,
     function(c, x) return loupe.where(c, 0, x) end)

-- reductions
case("sum", function() return {N(3, 4)} end, function(x) return x:sum() end)
case("sum_dim", function() return {N(2, 3, 4)} end, function(x) return x:sum(2) end)
case("sum_dim_keep", function() return {N(2, 3, 4)} end, function(x) return x:sum(-1, true) end)
case("mean", function() return {N(3, 4)} end, function(x) return x:mean() end)
case("mean_dim", function() return {N(2, 3, 4)} end, function(x) return x:mean(1, true) end)
case("prod", function() return {U(3, 4)} end, function(x) return x:prod() end)
case("prod_dim", function() return {U(2, 3, 4)} end, function(x) return x:prod(3) end)
case("var", function() return {N(3, 4)} end, function(x) return x:var() end)
case("var_dim", function() return {N(2, 3, 4)} end, function(x) return x:var(2, true) end)
case("var_biased", function() return {N(3, 4)} end, function(x) return x:var(1, false, false) end)
case("std", function() return {N(3, 4)} end, function(x) return x:std() end)
case("std_dim", function() return {N(2, 3, 4)} end, function(x) return x:std(3) end)
case("norm2", function() return {N(3, 4)} end, function(x) return x:norm() end)
case("norm1", function() return {A(3, 4)} end, function(x) return x:norm(1) end)
case("norm3", function() return {A(3, 4)} end, function(x) return x:norm(3) end)
case("norminf", function() return {D(3, 4)} end, function(x) return x:norm("inf") end)
case("norm2_dim", function() return {N(2, 3, 4)} end, function(x) return x:norm(2, 2) end)
case("norm3_dim", function() return {A(3, 4)} end, function(x) return x:norm(3, 1, true) end)
case("norminf_dim", function() return {D(3, 4)} end, function(x) return x:norm(math.huge, 2) end)
case("max", function() return {D(3, 4)} end, function(x) return x:max() end)
case("max_dim", function() return {D(2, 3, 4)} end, function(x) return (x:max(2)) end)
case("min", function() return {D(3, 4)} end, function(x) return x:min() end)
case("min_dim", function() return {D(3, 4)} end, function(x) return (x:min(1, true)) end)

-- linear algebra
case("mm", function() return {N(3, 4), N(4, 5)} end, function(a, b) return a:mm(b) end)
case("mm_noncontig", function() return {N(4, 3), N(5, 4)} end, function(a, b) return a:t():mm(b:t()) end)
case("bmm", function() return {N(2, 3, 4), N(2, 4, 5)} end, function(a, b) return a:bmm(b) end)
case("matmul_1d1d", function() return {N(4), N(4)} end, function(a, b) return a:matmul(b) end)
case("matmul_2d1d", function() return {N(3, 4), N(4)} end, function(a, b) return a:matmul(b) end)
case("matmul_1d2d", function() return {N(4), N(4, 5)} end, function(a, b) return a:matmul(b) end)
case("matmul_3d2d", function() return {N(2, 3, 4), N(4, 5)} end, function(a, b) return a:matmul(b) end)
case("matmul_bcast", function() return {N(2, 1, 3, 4), N(3, 4, 5)} end, function(a, b) return a:matmul(b) end)
case("dot", function() return {N(5), N(5)} end, function(a, b) return a:dot(b) end)
case("einsum_outer_sum", function() return {N(3), N(3, 4), N(3, 5)} end,
     function(o, a, b) return loupe.einsum("o,oi,oj->ij", o, a, b) end)
case("einsum_mm", function() return {N(2, 3), N(3, 4)} end,
     function(a, b) return loupe.einsum("bi,ij->bj", a, b) end)
case("einsum_bmm", function() return {N(2, 3, 4), N(2, 4, 5)} end,
     function(a, b) return loupe.einsum("bij,bjk->bik", a, b) end)
case("einsum_transpose", function() return {N(3, 4)} end, function(a) return loupe.einsum("ij->ji", a) end)
case("einsum_total", function() return {N(3, 4)} end, function(a) return loupe.einsum("ij->", a) end)
case("einsum_outer", function() return {N(3), N(4)} end, function(a, b) return loupe.einsum("i,j->ij", a, b) end)
case("einsum_bilinear", function() return {N(2, 3), N(4, 3, 3), N(2, 3)} end,
     function(x, w, y) return loupe.einsum("bi,oij,bj->bo", x, w, y) end)

-- softmax family, cosine similarity
case("softmax", function() return {N(3, 4)} end, function(x) return x:softmax(2) end)
case("softmax_dim1", function() return {N(2, 3, 4)} end, function(x) return x:softmax(1) end)
case("log_softmax", function() return {N(3, 4)} end, function(x) return x:log_softmax(2) end)
case("log_softmax_mid", function() return {N(2, 3, 4)} end, function(x) return x:log_softmax(2) end)
case("cosine_similarity", function() return {N(3, 4), N(3, 4)} end,
     function(a, b) return a:cosine_similarity(b) end)
case("cosine_similarity_bcast", function() return {N(3, 4), N(4)} end,
     function(a, b) return a:cosine_similarity(b, 2) end)

-- shape and views
case("view", function() return {N(3, 4)} end, function(x) return x:view(2, 6) end)
case("reshape_copy", function() return {N(4, 3)} end, function(x) return x:t():reshape(12) end)
case("permute", function() return {N(2, 3, 4)} end, function(x) return x:permute(3, 1, 2) end)
case("transpose", function() return {N(2, 3, 4)} end, function(x) return x:transpose(1, 3) end)
case("t", function() return {N(3, 4)} end, function(x) return x:t() end)
case("narrow", function() return {N(3, 5)} end, function(x) return x:narrow(2, 2, 3) end)
case("select", function() return {N(2, 3, 4)} end, function(x) return x:select(2, -1) end)
case("squeeze", function() return {N(3, 1, 4)} end, function(x) return x:squeeze() end)
case("unsqueeze", function() return {N(3, 4)} end, function(x) return x:unsqueeze(2) end)
case("expand", function() return {N(3, 1)} end, function(x) return x:expand(2, 3, 4) end)
case("expand_as", function() return {N(4), const(loupe.zeros(3, 4))} end,
     function(x, y) return x:expand_as(y) end)
case("flatten", function() return {N(2, 3, 4)} end, function(x) return x:flatten(2, 3) end)
case("contiguous", function() return {N(4, 3)} end, function(x) return x:t():contiguous() end)
case("clone", function() return {N(3, 4)} end, function(x) return x:clone() end)
case("split", function() return {N(3, 5)} end, function(x) return x:split(2, 2)[2] end)
case("chunk", function() return {N(5, 3)} end, function(x) return x:chunk(2)[2] end)
case("cat", function() return {N(2, 4), N(3, 4)} end, function(a, b) return loupe.cat({a, b}) end)
case("cat_dim2", function() return {N(3, 2), N(4, 3)} end,
     function(a, b) return loupe.cat({a, b:t()}, 2) end)
case("stack", function() return {N(3, 4), N(3, 4), N(3, 4)} end,
     function(a, b, c) return loupe.stack({a, b, c}, 2) end)
case("index_select", function() return {N(4, 3), idx({4, 1, 4, 2})} end,
     function(x, i) return x:index_select(1, i) end)
case("index_select_dim2", function() return {N(2, 5, 3), idx({5, 5, 1})} end,
     function(x, i) return x:index_select(2, i) end)
case("gather", function() return {N(3, 4), idx({{1, 4, 4}, {2, 2, 3}, {4, 1, 1}})} end,
     function(x, i) return x:gather(2, i) end)
case("gather_dim1", function() return {N(3, 4), idx({{3, 1, 1, 2}, {3, 3, 2, 1}})} end,
     function(x, i) return x:gather(1, i) end)
case("masked_select", function() return {N(3, 4), mask(3, 4)} end,
     function(x, m) return x:masked_select(m) end)
case("masked_select_bcast", function() return {N(3, 4), mask(4)} end,
     function(x, m) return x:masked_select(m) end)
case("index_int", function() return {N(3, 4)} end, function(x) return x[2] end)
case("index_range", function() return {N(3, 4)} end, function(x) return x[{{}, {2, 3}}] end)
case("index_tensor", function() return {N(4, 3), idx({3, 1, 3})} end, function(x, i) return x[i] end)
case("index_mask", function() return {N(3, 4), mask(3, 4)} end, function(x, m) return x[m] end)

-- resize (loupe.interpolate): antialiased down (wide filter, both axes), plain bilinear
-- down/up on a 4-D batch; the backward is the transpose of the same weights
case("resize_aa", function() return {N(2, 9, 11)} end,
     function(x) return loupe.interpolate(x, {4, 5}, {antialias = true}) end)
case("resize_plain_4d", function() return {N(2, 1, 5, 6)} end,
     function(x) return loupe.interpolate(x, {7, 4}) end)

-- augmentations (loupe.transforms, fixed parameters): affine warps (bilinear with a fill and
-- a shear; nearest on a batch), the hue shift on colours in [0.1, 0.9] (away from the clamps),
-- blur with reflected taps, per-sample crops reaching into the padding, per-sample flips, and
-- the noise (reseeded so every call adds the same noise)
local TF = loupe.transforms
-- RGB pixels whose channels are 0.2, 0.5 and 0.8 (+-0.02) in a random order: no ties, every
-- hue sector, and h + 0.27 stays > 0.1 sector widths from a sector boundary
local function hue_input(n, h, w)
  local levels, pick, jit = {0.2, 0.5, 0.8}, loupe.randperm(6), loupe.rand(n * h * w * 3):totable()
  local perms = {{1, 2, 3}, {1, 3, 2}, {2, 1, 3}, {2, 3, 1}, {3, 1, 2}, {3, 2, 1}}
  local x, k = loupe.zeros(n, 3, h, w), 0
  for a = 1, n do
    for i = 1, h do
      for j = 1, w do
        local p = perms[pick[(k % 6) + 1]:item()]
        for c = 1, 3 do
          x[{a, c, i, j}] = levels[p[c]] + (jit[k * 3 + c] - 0.5) * 0.04
        end
        k = k + 1
      end
    end
  end
  return x
end
case("affine_bilinear", function() return {N(2, 6, 7)} end,
     function(x) return TF.random_affine.apply(x, {angle = 25, translate = {1, 0}, scale = 1.2, shear = {6, 3}},
                                               {interpolation = "bilinear", fill = 0.3}) end)
case("affine_nearest_batch", function() return {N(2, 1, 5, 6)} end,
     function(x) return TF.random_affine.apply(x, {{angle = 30}, {angle = -50, scale = 0.8}}) end)
case("adjust_hue", function() return {leaf(hue_input(2, 3, 4))} end,
     function(x) return TF.adjust_hue(x, 0.27) end)
case("gaussian_blur", function() return {N(2, 5, 6)} end,
     function(x) return TF.gaussian_blur.apply(x, {sigma = {1.1, 0.7}, kernel_size = {5, 7}}) end)
case("crop_padded", function() return {N(2, 1, 4, 5)} end,
     function(x) return TF.random_crop.apply(x, {top = idx({0, 3}), left = idx({2, 0})}, {size = {4, 4}, padding = 1}) end)
case("hflip_per_sample", function() return {N(3, 2, 2, 3)} end,
     function(x) return TF.random_hflip.apply(x, {flip = loupe.tensor({1, 0, 1}, "uint8")}) end)
case("gaussian_noise", function() return {N(3, 4)} end,
     function(x) loupe.manual_seed(5); return TF.gaussian_noise(x, {std = 0.3, p = 0.5}) end)

-- compositions: a small classifier step, and one input reaching the output by several paths
case("mlp_log_softmax", function() return {N(5, 4), N(4, 3), N(3)} end,
     function(x, w, b) return (x:matmul(w) + b):relu():log_softmax(2) end)
case("shared_input", function() return {N(3, 4)} end,
     function(x) return x:exp() * x:t():t() + x:sum(2, true) end)

-- layers (loupe.functional); dropout reseeds so every call draws the same mask
local Fn = loupe.functional
case("linear", function() return {N(3, 4), N(2, 4), N(2)} end, function(x, w, b) return Fn.linear(x, w, b) end)
case("linear_3d_nobias", function() return {N(2, 3, 4), N(2, 4)} end, function(x, w) return Fn.linear(x, w) end)
case("bilinear", function() return {N(3, 4), N(6, 4), N(6)} end, function(x, w, b) return Fn.bilinear(x, w, b) end)
case("conv2d", function() return {N(2, 2, 5, 5), N(3, 2, 3, 3), N(3)} end,
     function(x, w, b) return Fn.conv2d(x, w, b, {stride = 2, padding = 1}) end)
case("conv2d_groups_dilation", function() return {N(1, 4, 5, 5), N(4, 2, 2, 2)} end,
     function(x, w) return Fn.conv2d(x, w, {groups = 2, dilation = 2, padding = {1, 0}}) end)
case("batch_norm_train", function() return {N(3, 2, 2, 2), N(2), N(2)} end,
     function(x, w, b) return Fn.batch_norm(x, nil, nil, w, b, {training = true}) end)
case("batch_norm_eval", function() return {N(3, 2, 2), const(loupe.randn(2)), const(loupe.rand(2) + 0.5), N(2), N(2)} end,
     function(x, rm, rv, w, b) return Fn.batch_norm(x, rm, rv, w, b) end)
case("max_pool2d", function() return {D(1, 2, 5, 5)} end,
     function(x) return Fn.max_pool2d(x, 3, {stride = 2, padding = 1, ceil_mode = true}) end)
case("avg_pool2d", function() return {N(1, 2, 5, 5)} end,
     function(x) return Fn.avg_pool2d(x, 3, {stride = 2, padding = 1, count_include_pad = false}) end)
case("adaptive_avg_pool2d", function() return {N(1, 2, 5, 5)} end,
     function(x) return Fn.adaptive_avg_pool2d(x, {2, 3}) end)
case("adaptive_max_pool2d", function() return {D(1, 2, 5, 5)} end,
     function(x) return Fn.adaptive_max_pool2d(x, 2) end)
case("dropout", function() return {N(4, 5)} end,
     function(x) loupe.manual_seed(7); return Fn.dropout(x, 0.4) end)

-- losses (loupe.functional): targets are 1-based labels; probabilities for BCE stay in (0, 1)
case("cross_entropy", function() return {N(4, 5), idx({1, 5, 3, 5})} end,
     function(x, t) return Fn.cross_entropy(x, t) end)
case("cross_entropy_4d_weight_smooth", function()
       return {N(2, 3, 2, 2), idx({{{1, 3}, {2, 2}}, {{3, 1}, {1, 2}}}), const(loupe.rand(3) + 0.5)}
     end,
     function(x, t, w) return Fn.cross_entropy(x, t, {weight = w, label_smoothing = 0.1, reduction = "none"}) end)
case("nll_loss_weight_sum", function() return {N(4, 5), idx({2, 5, 1, 2}), const(loupe.rand(5) + 0.5)} end,
     function(x, t, w) return Fn.nll_loss(x, t, {weight = w, reduction = "sum"}) end)
case("mse_loss", function() return {N(3, 4), N(3, 4)} end, function(a, b) return Fn.mse_loss(a, b) end)
case("mse_loss_none", function() return {N(3, 4), N(3, 4)} end,
     function(a, b) return Fn.mse_loss(a, b, {reduction = "none"}) end)
case("bce_with_logits", function() return {N(3, 4), leaf(loupe.rand(3, 4) * 0.8 + 0.1)} end,
     function(x, y) return Fn.binary_cross_entropy_with_logits(x, y) end)
case("bce_with_logits_pos_weight", function()
       return {N(3, 4), leaf(loupe.rand(3, 4) * 0.8 + 0.1), const(loupe.rand(4) + 0.5)}
     end,
     function(x, y, pw) return Fn.binary_cross_entropy_with_logits(x, y, {pos_weight = pw, reduction = "none"}) end)

-- ---- tests ----

local function seed_of(name) -- a stable per-case seed: adding a case leaves the others alone
  local h = 5381
  for i = 1, #name do h = (h * 33 + name:byte(i)) % 2147483647 end
  return h
end

local function build(c)
  loupe.manual_seed(seed_of(c.name))
  local inputs = c.make()
  return inputs
end

local tests = {}
local seen = {}
for _, c in ipairs(cases) do
  assert(not seen[c.name], "duplicate gradcheck case " .. c.name)
  seen[c.name] = true
  tests["gradcheck_" .. c.name] = function()
    local inputs = build(c)
    local ok, err = pcall(gradcheck, c.fn, inputs, c.opts)
    if not ok then error(c.name .. ": " .. tostring(err), 0) end
  end
end

-- Every "...Backward" string literal in src/ (ag_record names, the unary name table, names
-- picked by a ternary) must be the grad_fn of at least one case's output.
tests.every_backward_node_is_checked = function()
  local p = assert(io.popen([[grep -rhoE '"[A-Z][A-Za-z0-9]*Backward"' src 2>/dev/null]]))
  local in_src, nsrc = {}, 0
  for line in p:lines() do
    local name = line:sub(2, -2)
    if not in_src[name] then
      in_src[name] = true
      nsrc = nsrc + 1
    end
  end
  p:close()
  T.truthy(nsrc >= 40, ("found only %d Backward names in src/ (run from the repository root)"):format(nsrc))
  local covered = {}
  for _, c in ipairs(cases) do
    local out = c.fn(table.unpack(build(c)))
    local name = out:grad_fn()
    T.truthy(name, c.name .. ": output has no grad_fn")
    covered[name] = true
  end
  local missing = {}
  for name in pairs(in_src) do
    if not covered[name] then missing[#missing + 1] = name end
  end
  table.sort(missing)
  if #missing > 0 then
    error("no gradcheck case produces: " .. table.concat(missing, ", "), 0)
  end
end

-- gradcheck itself must catch a wrong gradient: here autograd misses the detached term.
tests.gradcheck_detects_wrong_gradient = function()
  loupe.manual_seed(1)
  local x = N(3, 4)
  T.raises(function() gradcheck(function(t) return t:detach():square() + t end, {x}) end,
           "gradcheck: input 1")
end

-- and it leaves the inputs as they were
tests.gradcheck_restores_inputs = function()
  loupe.manual_seed(2)
  local x = N(3, 4)
  local before = x:clone()
  gradcheck(function(t) return t:tanh() end, {x})
  T.truthy(x:equal(before), "inputs changed")
  T.eq(x.grad, nil, "x.grad")
end

return tests
