-- test_tensor.lua — creation, dtypes and conversion, shapes and views (storage sharing),
-- indexing (read and write), joining and splitting, index_select / gather / masks, printing.
local loupe = require "loupe"
local T = require "testlib"
local eq, close, raises, truthy = T.eq, T.close, T.raises, T.truthy

local function shape(t) return table.concat(t:shape(), ",") end
local function long(tbl) return loupe.tensor(tbl, "int64") end

local tests = {}

-- ---- creation ----

function tests.tensor_from_nested_tables()
  local x = loupe.tensor{{1, 2}, {3, 4}}
  eq(shape(x), "2,2")
  eq(x:dtype(), "float32")
  eq(x:dim(), 2)
  eq(x:numel(), 4)
  eq(x[2][1]:item(), 3)
  close(x, {{1, 2}, {3, 4}})
  local v = loupe.tensor{5, 6, 7}
  eq(shape(v), "3")
  local s = loupe.tensor(2.5)
  eq(s:dim(), 0)
  eq(s:item(), 2.5)
  eq(loupe.tensor({}):numel(), 0)
  -- booleans become 0/1, a dtype may be given as a string or an options table
  close(loupe.tensor{true, false}, {1, 0})
  eq(loupe.tensor({1, 2}, "int64"):dtype(), "int64")
  eq(loupe.tensor({1, 2}, {dtype = "uint8"}):dtype(), "uint8")
  eq(loupe.tensor({1, 2}, {requires_grad = true}).requires_grad, true)
  -- int64 keeps integers exactly, beyond float precision
  eq(loupe.tensor({9007199254740993}, "int64")[1]:item(), 9007199254740993)
end

function tests.tensor_copies_a_tensor()
  local a = loupe.tensor{1, 2, 3}
  local b = loupe.tensor(a)
  b[1] = 9
  eq(a[1]:item(), 1, "loupe.tensor(t) copies")
  eq(loupe.tensor(a, "int64"):dtype(), "int64")
end

function tests.zeros_ones_full()
  local z = loupe.zeros(2, 3)
  eq(shape(z), "2,3")
  eq(z:sum():item(), 0)
  eq(shape(loupe.zeros{4, 5}), "4,5", "shape as a table")
  eq(loupe.ones(3):sum():item(), 3)
  eq(loupe.ones(2, 2, {dtype = "int64"}):dtype(), "int64")
  eq(loupe.zeros(3, "uint8"):dtype(), "uint8")
  local f = loupe.full({2, 2}, 7)
  close(f, {{7, 7}, {7, 7}})
  close(loupe.full(2, 3, 1.5), loupe.ones(2, 3) * 1.5, nil, "full(2, 3, v): sizes then the value")
  eq(loupe.full({3}, 4, "int64")[3]:item(), 4)
  eq(loupe.zeros():dim(), 0, "no sizes: a 0-d tensor")
  eq(loupe.zeros(0, 3):numel(), 0)
  eq(loupe.zeros(2, {requires_grad = true}).requires_grad, true)
end

function tests.arange_linspace_eye()
  local a = loupe.arange(5)
  eq(a:dtype(), "int64", "integer arguments give int64")
  eq(table.concat(a:totable(), ","), "0,1,2,3,4")
  eq(table.concat(loupe.arange(1, 10, 3):totable(), ","), "1,4,7")
  eq(table.concat(loupe.arange(5, 0, -2):totable(), ","), "5,3,1")
  local f = loupe.arange(0, 1, 0.25)
  eq(f:dtype(), "float32")
  close(f, {0, 0.25, 0.5, 0.75})
  eq(loupe.arange(3, "float32"):dtype(), "float32")
  close(loupe.linspace(0, 1, 5), {0, 0.25, 0.5, 0.75, 1})
  eq(loupe.linspace(-1, 1, 7)[7]:item(), 1, "linspace hits its end exactly")
  eq(loupe.linspace(0, 1, 0):numel(), 0)
  close(loupe.eye(3), {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}})
  close(loupe.eye(2, 3), {{1, 0, 0}, {0, 1, 0}})
end

function tests.random_creation()
  loupe.manual_seed(1)
  local r = loupe.rand(1000)
  truthy(r:min():item() >= 0 and r:max():item() < 1, "rand in [0, 1)")
  close(r:mean():item(), 0.5, 0.1)
  local n = loupe.randn(10000)
  close(n:mean():item(), 0, 0.05)
  close(n:std():item(), 1, 0.05)
  local i = loupe.randint(3, 7, 2000)
  eq(i:dtype(), "int64")
  eq(i:float():min():item(), 3, "int64 math needs :float() (float32 is the math dtype)")
  eq(i:float():max():item(), 6, "randint's high is exclusive")
  eq(shape(loupe.randint(0, 2, {3, 4})), "3,4")
  local p = loupe.randperm(50)
  eq(p:dtype(), "int64")
  local sorted = p:totable()
  table.sort(sorted)
  for k = 1, 50 do eq(sorted[k], k, "randperm is a permutation of 1..n") end
  eq(loupe.randperm(0):numel(), 0)
  eq(shape(loupe.rand(2, 3)), "2,3")
  eq(shape(loupe.randn{4}), "4")
end

function tests.like_constructors_and_clone()
  local x = loupe.arange(6):view(2, 3)
  local z = loupe.zeros_like(x)
  eq(shape(z), "2,3")
  eq(z:dtype(), "int64", "zeros_like keeps the dtype")
  eq(loupe.ones_like(x):float():sum():item(), 6)
  eq(loupe.full_like(x, 2):float():sum():item(), 12)
  eq(loupe.zeros_like(x, {dtype = "float32"}):dtype(), "float32")
  local f = loupe.ones(2, 3)
  eq(shape(loupe.rand_like(f)), "2,3")
  eq(shape(loupe.randn_like(f)), "2,3")
  local c = f:clone()
  c[1][1] = 5
  eq(f[1][1]:item(), 1, "clone does not share storage")
end

-- ---- dtypes and conversion ----

function tests.dtype_conversion()
  local f = loupe.tensor{1.5, -2.7, 300, 0.2}
  local l = f:long()
  eq(l:dtype(), "int64")
  eq(table.concat(l:totable(), ","), "1,-2,300,0", "float -> int64 truncates toward zero")
  local b = loupe.tensor{300, 255, 1.9}:byte()
  eq(b:dtype(), "uint8")
  eq(table.concat(b:totable(), ","), "44,255,1", "uint8 wraps modulo 256")
  local back = loupe.tensor({0, 128, 255}, "uint8"):float()
  eq(back:dtype(), "float32")
  close(back, {0, 128, 255})
  eq(l:float():dtype(), "float32")
  eq(f:to("int64"):dtype(), "int64")
  eq(f:to("uint8"):dtype(), "uint8")
  -- converting to the same dtype returns the same tensor
  truthy(rawequal(f:float(), f), "float() of a float tensor is itself")
  -- conversions are copies
  local c = f:long()
  c[1] = 100
  eq(f[1]:item(), 1.5)
  -- non-finite floats become 0, not undefined behaviour
  eq(table.concat(loupe.tensor{0 / 0, math.huge}:long():totable(), ","), "0,0")
  -- comparisons give uint8 masks
  eq(f:gt(0):dtype(), "uint8")
end

function tests.item_and_totable_types()
  eq(math.type(loupe.tensor({3}, "int64"):item()), "integer")
  eq(math.type(loupe.tensor({3}, "uint8"):item()), "integer")
  eq(math.type(loupe.tensor{3}:item()), "float")
  local t = loupe.tensor{{1, 2}, {3, 4}}:totable()
  eq(#t, 2)
  eq(t[2][1], 3)
  eq(loupe.tensor(5):totable(), 5, "0-d totable is the number")
  local e = loupe.zeros(0, 2):totable()
  eq(#e, 0)
end

-- ---- shapes and views ----

function tests.shape_queries()
  local x = loupe.zeros(2, 3, 4)
  eq(shape(x), "2,3,4")
  eq(x:size(1), 2)
  eq(x:size(3), 4)
  eq(x:size(-1), 4, "negative dims count from the end")
  eq(#x:size(), 3)
  eq(x:dim(), 3)
  eq(x:numel(), 24)
  eq(#x, 2, "# is the size of the first dimension")
  eq(table.concat(x:stride(), ","), "12,4,1")
  truthy(x:is_contiguous())
end

function tests.view_and_reshape()
  local x = loupe.arange(12)
  eq(shape(x:view(3, 4)), "3,4")
  eq(shape(x:view(-1, 6)), "2,6", "-1 is inferred")
  eq(shape(x:view{2, -1, 3}), "2,2,3")
  eq(shape(x:reshape(4, -1)), "4,3")
  -- a view shares storage: writing through it changes the base
  local base = loupe.zeros(3, 4)
  local v = base:view(12)
  v[5] = 7
  eq(base[2][1]:item(), 7)
  v:fill_(1)
  eq(base:sum():item(), 12)
  -- reshape of a non-contiguous tensor copies; view refuses
  local t = loupe.arange(6):view(2, 3):t()
  eq(t:is_contiguous(), false)
  close(t:reshape(6):float(), {0, 3, 1, 4, 2, 5})
  raises(function() return t:view(6) end, "view: a tensor of shape [3,2]")
  eq(shape(loupe.zeros(2, 3):view_as(loupe.zeros(3, 2))), "3,2")
end

function tests.permute_transpose_t()
  local x = loupe.arange(24):view(2, 3, 4)
  local p = x:permute(3, 1, 2)
  eq(shape(p), "4,2,3")
  eq(p[4][2][3]:item(), x[2][3][4]:item())
  eq(shape(x:permute{2, 3, 1}), "3,4,2")
  local tr = x:transpose(1, 3)
  eq(shape(tr), "4,3,2")
  eq(tr[1][2][2]:item(), x[2][2][1]:item())
  local m = loupe.tensor{{1, 2, 3}, {4, 5, 6}}
  close(m:t(), {{1, 4}, {2, 5}, {3, 6}})
  eq(shape(loupe.zeros(3):t()), "3", "t() of a vector is itself")
  -- transposes are views
  m:t()[1][2] = 40
  eq(m[2][1]:item(), 40)
end

function tests.narrow_select_squeeze_unsqueeze()
  local x = loupe.arange(12):view(3, 4)
  eq(table.concat(x:narrow(2, 2, 2):flatten():totable(), ","), "1,2,5,6,9,10")
  eq(table.concat(x:narrow(1, -1, 1):flatten():totable(), ","), "8,9,10,11", "negative start")
  eq(table.concat(x:select(2, 3):totable(), ","), "2,6,10")
  eq(table.concat(x:select(1, -1):totable(), ","), "8,9,10,11")
  local n = x:narrow(1, 2, 1)
  n:fill_(0)
  eq(x:float():sum():item(), 66 - (4 + 5 + 6 + 7), "narrow is a view")
  local y = loupe.zeros(2, 1, 3, 1)
  eq(shape(y:squeeze()), "2,3")
  eq(shape(y:squeeze(2)), "2,3,1")
  eq(shape(y:squeeze(1)), "2,1,3,1", "squeezing a dim that is not 1 keeps it")
  eq(shape(loupe.zeros(3):unsqueeze(1)), "1,3")
  eq(shape(loupe.zeros(3):unsqueeze(2)), "3,1")
  eq(shape(loupe.zeros(3):unsqueeze(-1)), "3,1")
end

function tests.expand_flatten_contiguous()
  local c = loupe.tensor{{1}, {2}, {3}}
  local e = c:expand(3, 4)
  eq(shape(e), "3,4")
  eq(e:stride()[2], 0, "expand is a view with stride 0")
  close(e, {{1, 1, 1, 1}, {2, 2, 2, 2}, {3, 3, 3, 3}})
  eq(shape(c:expand(2, -1, 5)), "2,3,5", "-1 keeps a size, new dims go in front")
  eq(shape(loupe.zeros(1, 3):expand_as(loupe.zeros(4, 3))), "4,3")
  local x = loupe.zeros(2, 3, 4, 5)
  eq(shape(x:flatten()), "120")
  eq(shape(x:flatten(2)), "2,60")
  eq(shape(x:flatten(2, 3)), "2,12,5")
  eq(shape(loupe.tensor(3):flatten()), "1")
  local t = loupe.arange(6):view(2, 3):t()
  local k = t:contiguous()
  truthy(k:is_contiguous())
  eq(table.concat(k:stride(), ","), "2,1")
  truthy(rawequal(x:contiguous(), x), "contiguous() of a contiguous tensor is itself")
end

-- ---- indexing ----

function tests.index_read()
  local x = loupe.arange(12):view(3, 4)
  eq(table.concat(x[2]:totable(), ","), "4,5,6,7", "x[i] selects along dim 1")
  eq(x[3][4]:item(), 11)
  eq(x[-1][-1]:item(), 11, "negative indices count from the end")
  eq(x[{2, 3}]:item(), 6, "x[{i, j}]")
  local r = x[{{}, {2, 3}}]
  eq(shape(r), "3,2", "{} keeps a dim, {a, b} is an inclusive range")
  eq(table.concat(r:flatten():totable(), ","), "1,2,5,6,9,10")
  eq(shape(x[{{2}}]), "1,4", "{a} keeps the dimension")
  eq(shape(x[{{2, 3}, 1}]), "2")
  eq(shape(x[{{-2, -1}}]), "2,4", "negative range bounds")
  eq(shape(x[{{1, 0}}]), "0,4", "an empty range")
  eq(shape(x[{}]), "3,4")
end

function tests.index_write()
  local x = loupe.zeros(3, 4)
  x[2] = 1
  eq(x:sum():item(), 4)
  x[{{}, {3, 4}}] = 2
  eq(x:sum():item(), 2 + 12)
  x[{3, 1}] = 9
  eq(x[3][1]:item(), 9)
  x[1] = loupe.tensor{1, 2, 3, 4}
  eq(table.concat(x[1]:totable(), ","), "1.0,2.0,3.0,4.0")
  x[{{}, 1}] = loupe.tensor{7, 8, 9}
  eq(table.concat(x:select(2, 1):totable(), ","), "7.0,8.0,9.0")
  -- broadcasting on assignment
  x[{{1, 2}}] = loupe.tensor{5, 5, 5, 5}
  eq(x[{{1, 2}}]:sum():item(), 40)
  -- writes into an int64 tensor convert
  local l = loupe.zeros(2, "int64")
  l[1] = 3.9
  eq(l[1]:item(), 3)
  -- writing through a selected row view changes the base
  local row = x[3]
  row[2] = -1
  eq(x[3][2]:item(), -1)
end

function tests.masks()
  local x = loupe.tensor{{1, -2}, {-3, 4}}
  local m = x:gt(0)
  eq(m:dtype(), "uint8")
  eq(table.concat(m:flatten():totable(), ","), "1,0,0,1")
  local sel = x[m]
  eq(shape(sel), "2")
  eq(table.concat(sel:totable(), ","), "1.0,4.0")
  close(x:masked_select(x:lt(0)), {-2, -3})
  x[x:lt(0)] = 0
  close(x, {{1, 0}, {0, 4}})
  x:masked_fill_(x:eq(4), -1)
  close(x, {{1, 0}, {0, -1}})
  -- a mask broadcasts against the tensor
  local y = loupe.ones(2, 3)
  y[loupe.tensor({1, 0, 1}, "uint8")] = 5
  close(y, {{5, 1, 5}, {5, 1, 5}})
end

function tests.index_select_gather_and_long_index()
  local x = loupe.arange(6):view(2, 3)
  local s = x:index_select(2, long{3, 1})
  eq(table.concat(s:flatten():totable(), ","), "2,0,5,3", "1-based positions")
  eq(table.concat(x:index_select(1, long{2, 2, 1}):flatten():totable(), ","), "3,4,5,3,4,5,0,1,2")
  local g = x:gather(2, long{{3, 1}, {2, 2}})
  eq(table.concat(g:flatten():totable(), ","), "2,0,4,4")
  -- x[int64 tensor] indexes the first dimension
  eq(table.concat(x[long{2}]:flatten():totable(), ","), "3,4,5")
  -- labels: pick each row's class score
  local scores = loupe.tensor{{0.1, 0.9}, {0.8, 0.2}}
  close(scores:gather(2, long{{2}, {1}}), {{0.9}, {0.8}})
end

function tests.cat_stack()
  local a, b = loupe.ones(2, 2), loupe.zeros(1, 2)
  local c = loupe.cat{a, b}
  eq(shape(c), "3,2", "cat defaults to dimension 1")
  eq(c:sum():item(), 4)
  eq(shape(loupe.cat({a, loupe.zeros(2, 3)}, 2)), "2,5")
  eq(shape(loupe.cat({a, a, a}, -1)), "2,6")
  local s = loupe.stack{loupe.ones(3), loupe.zeros(3)}
  eq(shape(s), "2,3")
  local s2 = loupe.stack({loupe.ones(3), loupe.zeros(3)}, 2)
  eq(shape(s2), "3,2")
  close(s2[1], {1, 0})
  eq(loupe.cat{loupe.arange(2), loupe.arange(3)}:dtype(), "int64")
end

function tests.split_chunk()
  local x = loupe.arange(10)
  local parts = x:split(4)
  eq(#parts, 3)
  eq(table.concat(parts[3]:totable(), ","), "8,9", "the last piece may be smaller")
  eq(#loupe.zeros(3, 6):split(2, 2), 3)
  eq(shape(loupe.zeros(3, 6):split(2, 2)[1]), "3,2")
  local ch = x:chunk(3)
  eq(#ch, 3)
  eq(ch[1]:numel(), 4)
  eq(ch[3]:numel(), 2)
  eq(#loupe.arange(4):chunk(6), 4, "fewer chunks when they run out")
  -- pieces are views
  local base = loupe.zeros(6)
  base:split(3)[2]:fill_(1)
  eq(table.concat(base:totable(), ","), "0.0,0.0,0.0,1.0,1.0,1.0")
end

-- ---- printing ----

function tests.tostring()
  eq(tostring(loupe.tensor{{1, 2}, {3, 4}}), "tensor([[1., 2.],\n        [3., 4.]])")
  eq(tostring(loupe.tensor({1, 2, 3}, "int64")), "tensor([1, 2, 3])")
  eq(tostring(loupe.tensor({1, 2}, "uint8")), "tensor([1, 2], dtype=uint8)")
  eq(tostring(loupe.tensor(3.5)), "tensor(3.5000)")
  eq(tostring(loupe.zeros(0, 3)), "tensor([], size=[0,3])")
  eq(tostring(loupe.tensor{0.25}:requires_grad_()), "tensor([0.2500], requires_grad=true)")
  local long_one = tostring(loupe.arange(2000))
  truthy(long_one:find("...", 1, true), "long tensors are summarised")
  local t = loupe.ones(2)
  t:free()
  eq(tostring(t), "tensor(freed)")
  truthy(loupe.is_tensor(loupe.ones(1)))
  eq(loupe.is_tensor({}), false)
end

return tests
