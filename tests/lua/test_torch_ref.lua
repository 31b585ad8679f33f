-- test_torch_ref.lua — loupe against PyTorch. tests/fixtures/torch_ref.safetensors holds, for
-- every case below, inputs, outputs and the gradients of (out * w):sum() computed once by
-- tests/fixtures/gen_torch_ref.py (see its header for the naming). Each case here is the loupe
-- spelling of the PyTorch expression of the same name there: 1-based dims and indices, and
-- index inputs arrive already 1-based. One test per case; a final test checks that the two
-- lists agree, so a case added on one side only does not go unnoticed.
--
-- Tolerances: the reference is computed in float64 and rounded once, so elementwise ops match
-- to a few float32 ulps (TOL). Sums, products, norms and matrix products accumulate rounding
-- over their inputs (loupe sums in double, BLAS in float32), and their gradients go through
-- a few of those: TOL_ACC.
local loupe = require "loupe"
local T = require "testlib"

local FIXTURE = "tests/fixtures/torch_ref.safetensors"
local TOL = 1e-5

local function where(c, a, b) return loupe.where(c, a, b) end

-- name -> function(in1, in2, ...) returning the output(s)
local cases = {}
local function case(name, fn)
  assert(not cases[name], "duplicate case " .. name)
  cases[name] = fn
end

-- elementwise binary
case("add_same", function(a, b) return a + b end)
case("add_bcast", function(a, b) return a + b end)
case("add_alpha", function(a, b) return a:add(b, -2.5) end)
case("sub_bcast", function(a, b) return a - b end)
case("mul_bcast", function(a, b) return a * b end)
case("mul_noncontig", function(a, b) return a:t() * b end)
case("div_bcast", function(a, b) return a / b end)
case("div_bcast_lhs", function(a, b) return a / b end)
case("pow_tt", function(a, b) return a ^ b end)
case("maximum_bcast", function(a, b) return a:maximum(b) end)
case("minimum_bcast", function(a, b) return loupe.minimum(a, b) end)
case("maximum_ties", function(a, b) return a:maximum(b) end)
case("minimum_ties", function(a, b) return a:minimum(b) end)
case("add_scalar", function(x) return x + 2.5 end)
case("sub_scalar", function(x) return x - 1.5 end)
case("mul_scalar", function(x) return x * 3 end)
case("div_scalar", function(x) return x / 4 end)
case("pow_scalar", function(x) return x ^ 2.5 end)
case("pow_scalar_int", function(x) return x:pow(3) end)
case("maximum_scalar", function(x) return x:maximum(0) end)
case("radd_scalar", function(x) return 1.5 + x end)
case("rsub_scalar", function(x) return 2 - x end)
case("rmul_scalar", function(x) return -2 * x end)
case("rdiv_scalar", function(x) return 3 / x end)
case("rpow_scalar", function(x) return 2 ^ x end)

-- unary
case("neg", function(x) return x:neg() end)
case("unm", function(x) return -x end)
case("abs", function(x) return x:abs() end)
case("exp", function(x) return x:exp() end)
case("exp_noncontig", function(x) return x:t():exp() end)
case("log", function(x) return x:log() end)
case("sqrt", function(x) return x:sqrt() end)
case("tanh", function(x) return x:tanh() end)
case("sigmoid", function(x) return x:sigmoid() end)
case("relu", function(x) return x:relu() end)
case("relu_noncontig", function(x) return x:transpose(2, 3):relu() end)
case("sign", function(x) return x:sign() end)
case("sin", function(x) return x:sin() end)
case("cos", function(x) return x:cos() end)
case("square", function(x) return x:square() end)
case("rsqrt", function(x) return x:rsqrt() end)
case("reciprocal", function(x) return x:reciprocal() end)
case("clamp_both", function(x) return x:clamp(-0.5, 0.5) end)
case("clamp_min", function(x) return x:clamp(0.2) end)
case("clamp_max", function(x) return x:clamp(nil, 0.3) end)
case("clamp_at_bounds", function(x) return x:clamp(-0.5, 0.5) end)
case("where", function(c, a, b) return where(c, a, b) end)
case("where_bcast_cond", function(c, a, b) return where(c, a, b) end)
case("where_scalar", function(c, x) return where(c, x, 0) end)

-- reductions
case("sum_all", function(x) return x:sum() end)
case("sum_dim", function(x) return x:sum(2) end)
case("sum_dim_keep", function(x) return x:sum(3, true) end)
case("sum_neg_dim", function(x) return x:sum(-1) end)
case("sum_noncontig", function(x) return x:t():sum(2) end)
case("mean_all", function(x) return x:mean() end)
case("mean_dim", function(x) return x:mean(1) end)
case("mean_dim_keep", function(x) return x:mean(2, true) end)
case("prod_all", function(x) return x:prod() end)
case("prod_dim", function(x) return x:prod(2) end)
case("prod_dim_keep", function(x) return x:prod(2, true) end)
case("prod_zeros", function(x) return x:prod(2) end)
case("prod_all_zero", function(x) return x:prod() end)
case("var_all", function(x) return x:var() end)
case("var_dim", function(x) return x:var(2) end)
case("var_dim_keep", function(x) return x:var(1, true) end)
case("var_biased", function(x) return x:var(2, false, false) end)
case("var_all_biased", function(x) return x:var(nil, false, false) end)
case("std_all", function(x) return x:std() end)
case("std_dim", function(x) return x:std(3) end)
case("std_dim_keep", function(x) return x:std(1, true) end)
case("std_biased", function(x) return x:std(2, false, false) end)
case("norm2_all", function(x) return x:norm() end)
case("norm1_all", function(x) return x:norm(1) end)
case("norm3_all", function(x) return x:norm(3) end)
case("norminf_all", function(x) return x:norm("inf") end)
case("norm2_dim", function(x) return x:norm(2, 2) end)
case("norm1_dim_keep", function(x) return x:norm(1, 2, true) end)
case("norm3_dim", function(x) return x:norm(3, 1) end)
case("norminf_dim", function(x) return x:norm(math.huge, 2) end)
case("norm_fro", function(x) return x:norm("fro") end)
case("max_elementwise", function(a, b) return a:max(b) end)
case("max_all", function(x) return x:max() end)
case("min_all", function(x) return x:min() end)
case("max_all_ties", function(x) return x:max() end)
case("max_dim", function(x) return x:max(2) end)
case("max_dim0_3d", function(x) return x:max(1) end)
case("min_dim_keep", function(x) return x:min(2, true) end)

-- forward only
case("argmax_all", function(x) return x:argmax() end)
case("argmax_dim", function(x) return x:argmax(2) end)
case("argmin_dim_keep", function(x) return x:argmin(3, true) end)
case("argmin_all", function(x) return x:argmin() end)
case("argmax_ties", function(x) return x:argmax(2) end)
case("eq_tt", function(a, b) return a:eq(b) end)
case("ne_tt", function(a, b) return a:ne(b) end)
case("lt_tt", function(a, b) return a:lt(b) end)
case("le_tt", function(a, b) return a:le(b) end)
case("gt_tt", function(a, b) return a:gt(b) end)
case("ge_tt", function(a, b) return a:ge(b) end)
case("eq_scalar", function(x) return x:eq(0.5) end)
case("ne_scalar", function(x) return x:ne(0) end)
case("lt_scalar", function(x) return x:lt(0.5) end)
case("le_scalar", function(x) return x:le(0.5) end)
case("gt_scalar", function(x) return x:gt(-0.5) end)
case("ge_scalar", function(x) return x:ge(-0.5) end)

-- linear algebra
case("mm", function(a, b) return a:mm(b) end)
case("mm_noncontig", function(a, b) return a:t():mm(b:t()) end)
case("bmm", function(a, b) return a:bmm(b) end)
case("bmm_noncontig", function(a, b) return loupe.bmm(a:transpose(2, 3), b:transpose(1, 2)) end)
case("matmul_1d1d", function(a, b) return a:matmul(b) end)
case("matmul_2d1d", function(a, b) return a:matmul(b) end)
case("matmul_1d2d", function(a, b) return a:matmul(b) end)
case("matmul_2d2d", function(a, b) return a:matmul(b) end)
case("matmul_3d2d", function(a, b) return a:matmul(b) end)
case("matmul_3d1d", function(a, b) return a:matmul(b) end)
case("matmul_1d3d", function(a, b) return a:matmul(b) end)
case("matmul_bcast", function(a, b) return a:matmul(b) end)
case("matmul_2d3d", function(a, b) return loupe.matmul(a, b) end)
case("dot", function(a, b) return a:dot(b) end)
case("einsum_outer_sum", function(o, a, b) return loupe.einsum("o,oi,oj->ij", o, a, b) end)
case("einsum_mm", function(a, b) return loupe.einsum("bi,ij->bj", a, b) end)
case("einsum_bmm", function(a, b) return loupe.einsum("bij,bjk->bik", {a, b}) end)
case("einsum_transpose", function(a) return loupe.einsum("ij->ji", a) end)
case("einsum_total", function(a) return loupe.einsum("ij->", a) end)
case("einsum_outer", function(a, b) return loupe.einsum("i,j->ij", a, b) end)
case("einsum_rowdot", function(a, b) return loupe.einsum("ij,ij->i", a, b) end)
case("einsum_implicit", function(a, b) return loupe.einsum("ij,jk", a, b) end)
case("einsum_bilinear", function(x, w, y) return loupe.einsum("bi,oij,bj->bo", x, w, y) end)

-- softmax family, cosine similarity
case("softmax_last", function(x) return x:softmax(2) end)
case("softmax_first", function(x) return x:softmax(1) end)
case("softmax_3d_mid", function(x) return x:softmax(2) end)
case("log_softmax_last", function(x) return x:log_softmax(2) end)
case("log_softmax_first", function(x) return x:log_softmax(1) end)
case("log_softmax_3d_mid", function(x) return loupe.log_softmax(x, 2) end)
case("log_softmax_noncontig", function(x) return x:t():log_softmax(2) end)
case("cosine_similarity", function(a, b) return a:cosine_similarity(b) end)
case("cosine_similarity_dim0", function(a, b) return a:cosine_similarity(b, 1) end)
case("cosine_similarity_bcast", function(a, b) return loupe.cosine_similarity(a, b) end)
case("cosine_similarity_1d", function(a, b) return a:cosine_similarity(b) end)
case("cosine_similarity_3d", function(a, b) return a:cosine_similarity(b, -1) end)

-- shape and views
case("view", function(x) return x:view(2, 6) end)
case("view_infer", function(x) return x:view(-1, 4) end)
case("reshape", function(x) return x:reshape({4, 3}) end)
case("reshape_noncontig", function(x) return x:t():reshape(12) end)
case("permute", function(x) return x:permute(3, 1, 2) end)
case("transpose", function(x) return x:transpose(1, 3) end)
case("t", function(x) return x:t() end)
case("narrow", function(x) return x:narrow(2, 2, 2) end)
case("narrow_3d", function(x) return x:narrow(2, 3, 3) end)
case("select", function(x) return x:select(2, 3) end)
case("select_neg", function(x) return x:select(3, -1) end)
case("squeeze_all", function(x) return x:squeeze() end)
case("squeeze_dim", function(x) return x:squeeze(2) end)
case("unsqueeze", function(x) return x:unsqueeze(2) end)
case("unsqueeze_end", function(x) return x:unsqueeze(3) end)
case("expand", function(x) return x:expand(3, 4) end)
case("expand_lead", function(x) return x:expand(2, 3, 4) end)
case("expand_keep", function(x) return x:expand(2, -1, 4) end)
case("expand_as", function(x, y) return x:expand_as(y) end)
case("view_as", function(x, y) return x:view_as(y) end)
case("flatten", function(x) return x:flatten() end)
case("flatten_range", function(x) return x:flatten(2, 3) end)
case("flatten_noncontig", function(x) return x:t():flatten() end)
case("contiguous", function(x) return x:t():contiguous() end)
case("clone", function(x) return x:clone() end)
case("split_piece", function(x) return x:split(2, 2)[3] end)
case("chunk_piece", function(x) return x:chunk(2, 1)[2] end)
case("cat_dim0", function(a, b) return loupe.cat({a, b}) end)
case("cat_dim1", function(a, b, c) return loupe.cat({a, b, c}, 2) end)
case("cat_noncontig", function(a, b) return loupe.cat({a:t(), b:t()}, 2) end)
case("stack_dim0", function(a, b) return loupe.stack({a, b}) end)
case("stack_dim_last", function(a, b, c) return loupe.stack({a, b, c}, 3) end)
case("index_select_dim0", function(x, i) return x:index_select(1, i) end)
case("index_select_dim1", function(x, i) return x:index_select(2, i) end)
case("gather_dim1", function(x, i) return x:gather(2, i) end)
case("gather_dim0", function(x, i) return x:gather(1, i) end)
case("gather_3d", function(x, i) return x:gather(3, i) end)
case("masked_select", function(x, m) return x:masked_select(m) end)
case("masked_select_bcast", function(x, m) return x:masked_select(m) end)

-- indexing
case("index_int", function(x) return x[2] end)
case("index_neg", function(x) return x[-1] end)
case("index_range", function(x) return x[{{}, {2, 3}}] end)
case("index_int_range", function(x) return x[{2, {2, 4}}] end)
case("index_keep_one", function(x) return x[{{2}}] end)
case("index_3d", function(x) return x[{2, {}, 3}] end)
case("index_tensor", function(x, i) return x[i] end)
case("index_mask", function(x, m) return x[m] end)

-- edges
case("pow_zero_base", function(a, b) return a ^ b end)
case("relu_at_zero", function(x) return x:relu() end)
case("abs_at_zero", function(x) return x:abs() end)
case("sign_at_zero", function(x) return x:sign() end)
case("clamp_min_gt_max", function(x) return x:clamp(0.5, -0.5) end)
case("norm2_dim_zero_row", function(x) return x:norm(2, 2) end)
case("norminf_ties", function(x) return x:norm("inf") end)
case("norminf_dim_ties", function(x) return x:norm("inf", 2) end)
case("min_all_ties", function(x) return x:min() end)
case("max_dim_ties", function(x) return x:max(2) end)
case("masked_select_bcast_x", function(x, m) return x:masked_select(m) end)
case("softmax_large", function(x) return x:softmax(2) end)
case("log_softmax_large", function(x) return x:log_softmax(2) end)
case("sigmoid_large", function(x) return x:sigmoid() end)
case("cosine_similarity_zero", function(a, b) return a:cosine_similarity(b) end)

-- ---- the fixture ----

local fixture_cases, load_err = T.load_cases(FIXTURE)
local ok_load = fixture_cases ~= nil
fixture_cases = fixture_cases or {}

local function count(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

local function run_case(name)
  assert(ok_load, "cannot load " .. FIXTURE .. ": " .. tostring(load_err))
  local ref = fixture_cases[name]
  assert(ref, "case " .. name .. " is missing from " .. FIXTURE .. " (rerun gen_torch_ref.py)")
  local ins = {}
  for k = 1, #ref.ins do
    local x = ref.ins[k]:clone() -- fresh leaves: the fixture's tensors stay untouched
    if ref.grads[k] then x:requires_grad_() end
    ins[k] = x
  end
  local outs = table.pack(cases[name](table.unpack(ins, 1, #ref.ins)))
  T.eq(outs.n, count(ref.outs), name .. ": number of outputs")
  for j = 1, outs.n do
    T.eq(outs[j]:dtype(), ref.outs[j]:dtype(), name .. ": dtype of output " .. j)
    T.close(outs[j], ref.outs[j], TOL, name .. ": output " .. j)
  end
  if ref.w then
    T.truthy(outs[1].requires_grad, name .. ": output does not require grad")
    local loss = (outs[1] * ref.w):sum()
    loss:backward()
    for k, g in pairs(ref.grads) do
      T.truthy(ins[k].grad, name .. ": no gradient for input " .. k)
      T.close(ins[k].grad, g, TOL, name .. ": gradient of input " .. k)
    end
  end
end

local tests = {}
for name in pairs(cases) do
  tests["ref_" .. name] = function() run_case(name) end
end

tests.fixture_and_cases_agree = function()
  assert(ok_load, "cannot load " .. FIXTURE .. ": " .. tostring(load_err))
  local missing = {}
  for name in pairs(fixture_cases) do
    if not cases[name] then missing[#missing + 1] = name .. " (no Lua case)" end
  end
  for name in pairs(cases) do
    if not fixture_cases[name] then missing[#missing + 1] = name .. " (not in the fixture)" end
  end
  table.sort(missing)
  if #missing > 0 then error("cases out of step: " .. table.concat(missing, ", ")) end
end

return tests
