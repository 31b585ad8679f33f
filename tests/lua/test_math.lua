-- test_math.lua — arithmetic with NumPy broadcasting (metamethods and methods, numbers on
-- either side), unary functions, comparisons and where, reductions (keepdim, 1-based argmax),
-- in-place updates, einsum, matmul, allclose / equal, item / totable.
local loupe = require "loupe"
local T = require "testlib"
local eq, close, raises, truthy = T.eq, T.close, T.raises, T.truthy

local function shape(t) return table.concat(t:shape(), ",") end

local tests = {}

-- ---- broadcasting and metamethods ----

function tests.metamethods_tensor_tensor()
  local a = loupe.tensor{{1, 2}, {3, 4}}
  local b = loupe.tensor{{10, 20}, {30, 40}}
  close(a + b, {{11, 22}, {33, 44}})
  close(b - a, {{9, 18}, {27, 36}})
  close(a * b, {{10, 40}, {90, 160}})
  close(b / a, {{10, 10}, {10, 10}})
  close(a ^ loupe.tensor{{2, 2}, {0.5, 1}}, {{1, 4}, {math.sqrt(3), 4}})
  close(-a, {{-1, -2}, {-3, -4}})
end

function tests.metamethods_with_numbers_on_either_side()
  local a = loupe.tensor{1, 2, 4}
  close(a + 1, {2, 3, 5})
  close(1 + a, {2, 3, 5})
  close(a - 1, {0, 1, 3})
  close(10 - a, {9, 8, 6}, nil, "number - tensor is not tensor - number")
  close(a * 3, {3, 6, 12})
  close(3 * a, {3, 6, 12})
  close(a / 2, {0.5, 1, 2})
  close(8 / a, {8, 4, 2}, nil, "number / tensor")
  close(a ^ 2, {1, 4, 16})
  close(2 ^ a, {2, 4, 16}, nil, "number ^ tensor")
end

function tests.methods_and_module_functions()
  local a = loupe.tensor{1, 2, 3}
  local b = loupe.tensor{4, 5, 6}
  close(a:add(b), {5, 7, 9})
  close(a:add(b, 2), {9, 12, 15}, nil, "add(other, alpha)")
  close(a:sub(1), {0, 1, 2})
  close(a:mul(b), {4, 10, 18})
  close(b:div(a), {4, 2.5, 2})
  close(a:pow(2), {1, 4, 9})
  close(a:neg(), {-1, -2, -3})
  close(loupe.add(a, b), {5, 7, 9})
  close(loupe.mul(2, a), {2, 4, 6})
  close(a:maximum(loupe.tensor{2, 2, 2}), {2, 2, 3})
  close(a:minimum(loupe.tensor{2, 2, 2}), {1, 2, 2})
  close(a:max(loupe.tensor{0, 5, 0}), {1, 5, 3}, nil, "max(other) is elementwise")
end

function tests.broadcasting_rules()
  local col = loupe.tensor{{1}, {2}, {3}}     -- [3,1]
  local row = loupe.tensor{10, 20}            -- [2]
  local s = col + row
  eq(shape(s), "3,2")
  close(s, {{11, 21}, {12, 22}, {13, 23}})
  eq(shape(loupe.zeros(2, 1, 4) * loupe.zeros(3, 1)), "2,3,4")
  eq(shape(loupe.zeros(5, 3) + loupe.tensor(1)), "5,3", "0-d broadcasts")
  eq(shape(loupe.zeros(0, 3) + loupe.zeros(3)), "0,3", "empty broadcasts")
  close(loupe.ones(2, 3) - loupe.tensor{1, 2, 3}, {{0, -1, -2}, {0, -1, -2}})
  -- broadcasting through a non-contiguous view
  local t = loupe.tensor{{1, 2}, {3, 4}}:t()
  close(t + loupe.tensor{10, 100}, {{11, 103}, {12, 104}})
  raises(function() return loupe.zeros(2, 3) + loupe.zeros(4) end,
         "add: shapes [2,3] and [4] cannot be broadcast together")
end

function tests.unary_functions()
  local x = loupe.tensor{-1, 0, 0.5, 2}
  close(x:abs(), {1, 0, 0.5, 2})
  close(x:exp(), {math.exp(-1), 1, math.exp(0.5), math.exp(2)})
  close(loupe.tensor{1, math.exp(1)}:log(), {0, 1})
  close(loupe.tensor{4, 9}:sqrt(), {2, 3})
  close(x:tanh(), {math.tanh and math.tanh(-1) or -0.7615942, 0, 0.4621172, 0.9640276})
  close(x:sigmoid(), {0.2689414, 0.5, 0.6224593, 0.8807971})
  close(x:relu(), {0, 0, 0.5, 2})
  close(x:sign(), {-1, 0, 1, 1})
  close(x:square(), {1, 0, 0.25, 4})
  close(loupe.tensor{4}:rsqrt(), {0.5})
  close(loupe.tensor{4}:reciprocal(), {0.25})
  close(loupe.tensor{0}:sin(), {0})
  close(loupe.tensor{0}:cos(), {1})
  close(x:clamp(0, 1), {0, 0, 0.5, 1})
  close(x:clamp(0), {0, 0, 0.5, 2}, nil, "clamp with only a minimum")
  close(x:clamp(nil, 0), {-1, 0, 0, 0}, nil, "clamp with only a maximum")
end

-- ---- comparisons and where ----

function tests.comparisons_return_uint8_masks()
  local a = loupe.tensor{1, 2, 3}
  local b = loupe.tensor{3, 2, 1}
  local function bits(m) eq(m:dtype(), "uint8") return table.concat(m:totable(), "") end
  eq(bits(a:eq(b)), "010")
  eq(bits(a:ne(b)), "101")
  eq(bits(a:lt(b)), "100")
  eq(bits(a:le(b)), "110")
  eq(bits(a:gt(b)), "001")
  eq(bits(a:ge(b)), "011")
  eq(bits(a:gt(1)), "011", "against a number")
  eq(bits(a:eq(loupe.tensor{{1}, {3}}):flatten()), "100001", "broadcasting")
  -- int64 against a number is exact beyond float32 precision (2^24)
  local big = loupe.tensor({16777216, 16777217}, "int64")
  eq(bits(big:eq(16777217)), "01")
  eq(bits(big:lt(16777217)), "10")
  -- == on tensors is identity (Lua's __eq must return a boolean); use eq() or equal()
  eq(a == loupe.tensor{1, 2, 3}, false)
  eq(a == a, true)
end

function tests.where()
  local x = loupe.tensor{-2, -1, 0, 1, 2}
  close(loupe.where(x:gt(0), x, 0), {0, 0, 0, 1, 2})
  close(loupe.where(x:lt(0), -1, 1), {-1, -1, 1, 1, 1})
  local a = loupe.ones(2, 3)
  local b = loupe.zeros(2, 3)
  close(loupe.where(loupe.tensor({1, 0, 1}, "uint8"), a, b), {{1, 0, 1}, {1, 0, 1}})
  eq(shape(loupe.where(loupe.tensor({{1}, {0}}, "uint8"), loupe.tensor{1, 2, 3}, 0)), "2,3")
end

-- ---- reductions ----

function tests.reductions_all_and_by_dim()
  local x = loupe.tensor{{1, 2, 3}, {4, 5, 6}}
  eq(x:sum():item(), 21)
  eq(x:sum():dim(), 0, "a full reduction is 0-d")
  close(x:sum(1), {5, 7, 9})
  close(x:sum(2), {6, 15})
  close(x:sum(-1), {6, 15})
  close(x:mean():item(), 3.5)
  close(x:mean(2), {2, 5})
  eq(x:prod():item(), 720)
  close(x:prod(1), {4, 10, 18})
  close(x:var():item(), 3.5, 1e-6)
  close(x:var(2, false, false), {2 / 3, 2 / 3}, 1e-6, "biased variance")
  close(x:std(2), {1, 1})
  close(x:norm():item(), math.sqrt(91), 1e-6)
  close(x:norm(1):item(), 21)
  close(x:norm("inf"):item(), 6)
  close(x:norm(2, 2), {math.sqrt(14), math.sqrt(77)}, 1e-6)
  eq(x:max():item(), 6)
  eq(x:min():item(), 1)
  close(loupe.sum(x, 1), {5, 7, 9})
end

function tests.reductions_keepdim()
  local x = loupe.tensor{{1, 2, 3}, {4, 5, 6}}
  eq(shape(x:sum(1, true)), "1,3")
  eq(shape(x:sum(2, true)), "2,1")
  eq(shape(x:mean(2, true)), "2,1")
  eq(shape(x:sum(nil, true)), "1,1", "keepdim over everything")
  local v, i = x:max(2, true)
  eq(shape(v), "2,1")
  eq(shape(i), "2,1")
  -- keepdim results broadcast back against the input
  close(x - x:mean(2, true), {{-1, 0, 1}, {-1, 0, 1}})
  eq(shape(x:argmax(2, true)), "2,1")
end

function tests.max_min_argmax_are_one_based()
  local x = loupe.tensor{{1, 5, 3}, {7, 2, 9}}
  local v, i = x:max(2)
  close(v, {5, 9})
  eq(i:dtype(), "int64")
  eq(table.concat(i:totable(), ","), "2,3")
  local v1, i1 = x:max(1)
  close(v1, {7, 5, 9})
  eq(table.concat(i1:totable(), ","), "2,1,2")
  local mv, mi = x:min(2)
  close(mv, {1, 2})
  eq(table.concat(mi:totable(), ","), "1,2")
  eq(table.concat(x:argmax(2):totable(), ","), "2,3")
  eq(table.concat(x:argmin(1):totable(), ","), "1,2,1")
  eq(x:argmax():item(), 6, "argmax over everything: 1-based flat position")
  eq(x:argmin():item(), 1)
  -- the indices select the values back
  close(x:gather(2, i:unsqueeze(2)):squeeze(2), v)
  -- ties pick the first position, like torch
  eq(loupe.tensor{3, 3, 1}:argmax():item(), 1)
end

-- ---- in place ----

function tests.inplace_ops_return_self_and_modify()
  local x = loupe.tensor{1, 2, 3}
  truthy(rawequal(x:add_(1), x), "add_ returns self")
  close(x, {2, 3, 4})
  x:mul_(2)
  close(x, {4, 6, 8})
  x:sub_(loupe.tensor{1, 1, 1})
  close(x, {3, 5, 7})
  x:div_(2)
  close(x, {1.5, 2.5, 3.5})
  x:add_(loupe.tensor{1, 1, 1}, 2)
  close(x, {3.5, 4.5, 5.5}, nil, "add_(other, alpha)")
  x:clamp_(4, 5)
  close(x, {4, 4.5, 5})
  x:fill_(7)
  close(x, {7, 7, 7})
  x:zero_()
  close(x, {0, 0, 0})
  x:copy_(loupe.tensor{9, 8, 7})
  close(x, {9, 8, 7})
  x:pow_(2)
  close(x, {81, 64, 49})
  local r = loupe.tensor{-1, 1}
  r:relu_()
  close(r, {0, 1})
end

function tests.inplace_broadcast_and_conversion()
  local m = loupe.zeros(2, 3)
  m:add_(loupe.tensor{1, 2, 3})
  close(m, {{1, 2, 3}, {1, 2, 3}})
  m:copy_(loupe.tensor{{5}, {6}})
  close(m, {{5, 5, 5}, {6, 6, 6}})
  m:copy_(loupe.tensor({1, 2, 3}, "int64"))
  close(m, {{1, 2, 3}, {1, 2, 3}}, nil, "copy_ converts the dtype")
  local b = loupe.zeros(3, "uint8")
  b:copy_(loupe.tensor{1.7, 255, 3})
  eq(table.concat(b:totable(), ","), "1,255,3")
  b:fill_(9)
  eq(table.concat(b:totable(), ","), "9,9,9", "fill_ on uint8")
  -- the result must fit the tensor: in-place ops do not grow it
  raises(function() loupe.zeros(3):add_(loupe.zeros(2, 3)) end,
         "add_: the result of shape [2,3] does not fit the tensor of shape [3]")
  -- an in-place op through a view changes the base
  local base = loupe.zeros(2, 2)
  base[1]:add_(5)
  close(base, {{5, 5}, {0, 0}})
  base:t()[2]:mul_(0)
  close(base, {{5, 0}, {0, 0}})
  -- x:add_(x) aliases itself safely
  local y = loupe.tensor{1, 2}
  y:add_(y)
  close(y, {2, 4})
  local z = loupe.tensor{{1, 2}, {3, 4}}
  z:copy_(z:t())
  close(z, {{1, 3}, {2, 4}}, nil, "copy_ from an overlapping view")
end

-- ---- linear algebra and einsum ----

function tests.matmul_family()
  local a = loupe.tensor{{1, 2}, {3, 4}}
  local b = loupe.tensor{{5, 6}, {7, 8}}
  close(a:mm(b), {{19, 22}, {43, 50}})
  close(a:matmul(b), {{19, 22}, {43, 50}})
  close(a:matmul(loupe.tensor{1, 1}), {3, 7})
  close(loupe.tensor{1, 2}:dot(loupe.tensor{3, 4}):item(), 11)
  local ba = loupe.stack{a, b}
  close(ba:bmm(ba), {{{7, 10}, {15, 22}}, {{67, 78}, {91, 106}}})
  close(a:t():mm(b), {{26, 30}, {38, 44}}, nil, "mm of a transposed view")
end

function tests.einsum_forms()
  loupe.manual_seed(3)
  -- o,oi,oj->ij : weighted sum of outer products (the bilinear interaction matrix)
  local w, a, b = loupe.randn(4), loupe.randn(4, 3), loupe.randn(4, 5)
  local q = loupe.einsum("o,oi,oj->ij", w, a, b)
  eq(shape(q), "3,5")
  local want = (a * w:unsqueeze(2)):t():mm(b)
  close(q, want, 1e-4)
  close(loupe.einsum("o,oi,oj->ij", {w, a, b}), want, 1e-4, "operands as a table")
  -- bi,ij->bj : a batch through a matrix
  local x, m = loupe.randn(6, 3), loupe.randn(3, 2)
  close(loupe.einsum("bi,ij->bj", x, m), x:mm(m), 1e-4)
  -- bij,bjk->bik : batched matrix product
  local p, r = loupe.randn(2, 3, 4), loupe.randn(2, 4, 5)
  local pr = loupe.einsum("bij,bjk->bik", p, r)
  eq(shape(pr), "2,3,5")
  close(pr, p:bmm(r), 1e-4)
  -- sums and transposes
  close(loupe.einsum("ij->ji", m), m:t())
  close(loupe.einsum("ij->", m):item(), m:sum():item(), 1e-5)
end

-- ---- whole-tensor comparisons and values ----

function tests.allclose_equal()
  local a = loupe.tensor{1, 2, 3}
  truthy(a:allclose(loupe.tensor{1, 2, 3.000001}))
  eq(a:allclose(loupe.tensor{1, 2, 3.1}), false)
  truthy(a:allclose(loupe.tensor{1, 2, 3.1}, 0, 0.2), "atol")
  truthy(a:allclose(loupe.tensor{1.1, 2.2, 3.3}, 0.11), "rtol")
  truthy(loupe.allclose(loupe.ones(2, 3), loupe.tensor{1, 1, 1}), "broadcasts")
  truthy(a:equal(loupe.tensor{1, 2, 3}))
  eq(a:equal(loupe.tensor{1, 2, 4}), false)
  eq(a:equal(loupe.tensor{{1, 2, 3}}), false, "equal needs the same shape")
  truthy(a:equal(loupe.tensor({1, 2, 3}, "int64")), "equal compares values across dtypes")
  eq(loupe.tensor{0 / 0}:equal(loupe.tensor{0 / 0}), false, "NaN is not equal to itself")
end

function tests.item_totable()
  eq(loupe.tensor{{42}}:item(), 42)
  eq(loupe.tensor(1.5):item(), 1.5)
  eq(loupe.ones(2, 2):sum():item(), 4)
  local t = (loupe.arange(6):view(2, 3):float() * 2):totable()
  eq(#t, 2)
  eq(#t[1], 3)
  eq(t[2][3], 10)
  eq(loupe.tensor{1, 2}:t():totable()[2], 2)
  -- totable of a non-contiguous view follows the logical order
  local tt = loupe.tensor{{1, 2}, {3, 4}}:t():totable()
  eq(tt[1][2], 3)
end

return tests
