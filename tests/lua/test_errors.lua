-- test_errors.lua — every kind of misuse raises a Lua error that names the operation and what
-- was wrong (never a crash). One test per kind; the messages of the issue are checked
-- verbatim where they apply.
local loupe = require "loupe"
local T = require "testlib"
local eq, raises, truthy = T.eq, T.raises, T.truthy

local tests = {}

-- ---- the issue's examples, verbatim ----

function tests.mm_shape_mismatch()
  raises(function() return loupe.zeros(64, 784):mm(loupe.zeros(512, 10)) end,
         "mm: shapes [64,784] and [512,10] do not match")
  raises(function() return loupe.ones(2, 3):matmul(loupe.ones(2)) end,
         "matmul: shapes [2,3] and [2] do not match")
  raises(function() return loupe.ones(2, 3):bmm(loupe.ones(2, 3)) end, "bmm: shapes [2,3] and [2,3]")
  raises(function() return loupe.ones(3):dot(loupe.ones(4)) end, "dot: expected 1-D tensors of the same size, got [3] and [4]")
end

function tests.view_invalid_shape()
  raises(function() return loupe.zeros(4, 4):view(3, 5) end,
         "view: shape [3,5] is invalid for 16 elements")
  raises(function() return loupe.zeros(16):reshape(3, -1) end,
         "reshape: shape [3,-1] is invalid for 16 elements")
  raises(function() return loupe.zeros(6):view(-1, -1) end,
         "view: only one dimension can be inferred (-1) in [-1,-1]")
  raises(function() return loupe.zeros(2, 3):t():view(6) end,
         "view: a tensor of shape [3,2] with these strides cannot be viewed as [6]")
end

function tests.index_out_of_range()
  local x = loupe.zeros(10)
  raises(function() return x[11] end, "index 11 out of range for dimension 1 of size 10")
  raises(function() return x[-11] end, "index -11 out of range for dimension 1 of size 10")
  raises(function() x[11] = 1 end, "index 11 out of range for dimension 1 of size 10")
  local m = loupe.zeros(10, 3)
  raises(function() return m[{1, 4}] end, "index 4 out of range for dimension 2 of size 3")
  raises(function() return m[{{}, {2, 4}}] end, "range {2, 4} out of range for dimension 2 of size 3")
  raises(function() return m:select(2, 4) end, "index 4 out of range for dimension 2 of size 3")
  raises(function() return m:narrow(1, 9, 3) end, "narrow: range 9..11 out of range for dimension 1 of size 10")
  raises(function() return m[{1, 1, 1}] end, "too many indices (3) for a tensor with 2 dimensions")
  raises(function() return loupe.tensor(3)[1] end, "cannot index a 0-d tensor (use item())")
end

function tests.expected_a_tensor_got_nil()
  raises(function() return loupe.ones(2, 2):mm(nil) end, "expected a tensor for argument 2, got nil")
  raises(function() return loupe.mm(nil, loupe.ones(2, 2)) end, "mm: expected a tensor for argument 1, got nil")
end

function tests.safetensors_truncated_header()
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir '" .. dir .. "'"))
  local path = dir .. "/w.st"
  local f = assert(io.open(path, "wb"))
  f:write("\5\0\0")
  f:close()
  raises(function() return loupe.load(path) end, "safetensors: truncated header in file '" .. path .. "'")
  os.remove(path)
  os.remove(dir)
  raises(function() return loupe.load(dir .. "/missing.st") end, "safetensors: cannot open")
end

-- ---- type errors: nil, string, table, number where a tensor is expected ----

function tests.type_errors_for_tensor_arguments()
  local m = loupe.ones(2, 2)
  for _, bad in ipairs{{nil, "nil"}, {"x", "string"}, {{}, "table"}, {true, "boolean"}} do
    local v, ty = bad[1], bad[2]
    raises(function() return m:mm(v) end, "mm: expected a tensor for argument 2, got " .. ty)
    raises(function() return m:copy_(v) end, "copy_: expected a tensor for argument 2, got " .. ty)
    raises(function() return m:masked_select(v) end, "masked_select: expected a tensor for argument 2, got " .. ty)
    raises(function() return m:index_select(1, v) end, "index_select: expected a tensor for argument 3, got " .. ty)
    raises(function() return m:gather(1, v) end, "gather: expected a tensor for argument 3, got " .. ty)
    raises(function() return loupe.where(v, m, m) end, "where: expected a tensor for argument 1, got " .. ty)
    raises(function() return m:expand_as(v) end, "expand_as: expected a tensor for argument 2, got " .. ty)
    raises(function() return loupe.einsum("ij,jk->ik", m, v) end, "einsum: expected a tensor for argument 3, got " .. ty)
    raises(function() return loupe.Tensor.sum(v) end, "sum: expected a tensor for argument 1, got " .. ty)
  end
  -- a number where only a tensor will do
  raises(function() return m:mm(3) end, "mm: expected a tensor for argument 2, got number")
end

function tests.type_errors_for_tensor_or_number_arguments()
  local m = loupe.ones(2)
  raises(function() return m + nil end, "add: expected a tensor or number for argument 2, got nil")
  raises(function() return m - "x" end, "sub: expected a tensor or number for argument 2, got string")
  raises(function() return m * {} end, "mul: expected a tensor or number for argument 2, got table")
  raises(function() return {} / m end, "div: expected a tensor or number for argument 1, got table")
  raises(function() return m ^ true end, "pow: expected a tensor or number for argument 2, got boolean")
  raises(function() return loupe.where(m:gt(0), "a", m) end, "where: expected a tensor or number for argument 2, got string")
  raises(function() return m:maximum(nil) end, "maximum: expected a tensor or number for argument 2, got nil")
end

function tests.type_errors_in_lists_tables_and_options()
  raises(function() return loupe.cat{loupe.ones(2), 1} end, "cat: expected a tensor at position 2 of the list, got number")
  raises(function() return loupe.stack{"a"} end, "stack: expected a tensor at position 1 of the list, got string")
  raises(function() return loupe.cat(nil) end, "bad argument #1 to 'cat' (table expected, got nil)")
  raises(function() return loupe.einsum("i->i", {loupe.ones(2), "x"}) end, "einsum: operand 2 is not a tensor")
  raises(function() return loupe.tensor{1, "a"} end, "tensor: expected a number at depth 2, got string")
  raises(function() return loupe.tensor("a") end, "tensor: expected numbers or nested tables, got string")
  raises(function() return loupe.tensor{{1, 2}, {3}} end, "tensor: ragged nested table: expected 2 elements at depth 2, got 1")
  raises(function() return loupe.zeros(2, "float64") end, "zeros: unknown dtype 'float64' (expected float32, int64 or uint8)")
  raises(function() return loupe.ones(2):to("double") end, "to: unknown dtype 'double'")
  raises(function() return loupe.zeros(2.5) end, "zeros: sizes must be integers, got 2.5")
  raises(function() return loupe.zeros{2, "a"} end, "zeros: sizes must be integers, got string")
  raises(function() return loupe.ones(6):view("a") end, "view: expected sizes (integers or a table of them), got string")
  raises(function() return loupe.ones(6):reshape(nil) end, "reshape: expected sizes (integers or a table of them), got nil")
  raises(function() return loupe.ones(2):backward(5) end, "backward: expected a gradient tensor or an options table, got number")
  raises(function() loupe.ones(2).grad = 5 end, "grad: expected a tensor or nil, got number")
  raises(function() loupe.ones(2).foo = 1 end, "cannot set field 'foo' of a tensor")
  raises(function() return loupe.ones(2)[true] end, "cannot index a tensor with a boolean")
  raises(function() return loupe.ones(2)[1.5] end, "index 1.5 is not an integer")
  raises(function() loupe.ones(2)[1] = "a" end, "assignment: expected a number or a tensor as the value, got string")
  raises(function() local x = loupe.ones(2); x[x:gt(0)] = "a" end, "masked assignment needs a number value, got string")
  raises(function() return loupe.no_grad(nil) end, "bad argument #1 to 'no_grad' (function expected, got nil)")
  raises(function() return loupe.ones(2):norm("x") end, "norm: p must be a number, 'inf' or 'fro', got 'x'")
end

-- ---- 1-based indices and dims: 0 is never valid ----

function tests.zero_as_index_or_dim()
  local m = loupe.ones(2, 3)
  raises(function() return m[0] end, "index 0 is invalid (indices are 1-based)")
  raises(function() return m[{1, 0}] end, "index 0 is invalid (indices are 1-based)")
  raises(function() m[0] = 1 end, "index 0 is invalid (indices are 1-based)")
  raises(function() return m[{{0, 2}}] end, "range {0, 2} out of range for dimension 1 of size 2")
  raises(function() return m:select(1, 0) end, "index 0 is invalid (indices are 1-based)")
  raises(function() return m:narrow(1, 0, 1) end, "narrow: start 0 is invalid (indices are 1-based)")
  raises(function() return m:index_select(1, loupe.tensor({0}, "int64")) end,
         "index_select: index 0 out of range for dimension 1 of size 2")
  raises(function() return m:gather(2, loupe.tensor({{0}, {1}}, "int64")) end,
         "gather: index 0 out of range for dimension 2 of size 3")
  for _, name in ipairs{"sum", "mean", "max", "min", "argmax", "prod", "softmax", "log_softmax", "size",
                        "unsqueeze", "squeeze", "flatten", "var", "std"} do
    raises(function() return m[name](m, 0) end, name .. ": dimension 0 is invalid (dimensions are 1-based)")
  end
  -- the message names the operation however it was called
  local f = loupe.sum
  raises(function() return f(m, 0) end, "sum: dimension 0 is invalid")
  raises(function() return m:transpose(0, 1) end, "transpose: dimension 0 is invalid (dimensions are 1-based)")
  raises(function() return m:permute(0, 1) end, "permute: dimension 0 is invalid (dimensions are 1-based)")
  raises(function() return m:index_select(0, loupe.tensor({1}, "int64")) end, "index_select: dimension 0 is invalid")
  raises(function() return m:split(1, 0) end, "split: dimension 0 is invalid")
  raises(function() return loupe.cat({m, m}, 0) end, "cat: dimension 0 is invalid")
  raises(function() return loupe.stack({m, m}, 0) end, "stack: dimension 0 is invalid")
end

function tests.out_of_range_dims()
  local m = loupe.ones(2, 3)
  raises(function() return m:sum(3) end, "sum: dimension 3 out of range for a tensor with 2 dimensions")
  raises(function() return m:mean(-3) end, "mean: dimension -3 out of range for a tensor with 2 dimensions")
  raises(function() return m:softmax(5) end, "softmax: dimension 5 out of range for a tensor with 2 dimensions")
  raises(function() return m:size(3) end, "size: dimension 3 out of range for a tensor with 2 dimensions")
  raises(function() return m:sum(2^40) end, "sum: dimension 1099511627776 out of range")
  raises(function() return m:transpose(1, 3) end, "transpose: dimension 3 out of range")
  raises(function() return m:unsqueeze(4) end, "unsqueeze: dimension 4 out of range for a tensor with 3 dimensions")
  raises(function() return m:permute(1) end, "permute: 1 dimensions given for a tensor with 2")
  raises(function() return m:permute(1, 1) end, "permute: the dimensions do not form a permutation of 1..2")
  raises(function() return loupe.cat({m, m}, 3) end, "cat: dimension 3 out of range")
  raises(function() return loupe.tensor(1):size(1) end, "size: a 0-d tensor has no dimensions")
  raises(function() return m:flatten(2, 1) end, "flatten: start dimension 2 comes after end dimension 1")
end

-- ---- sizes: negative, non-integer, absurd ----

function tests.negative_sizes()
  raises(function() return loupe.zeros(-1, 2) end, "tensor: negative size -1 in shape [-1,2]")
  raises(function() return loupe.ones{3, -4} end, "negative size -4 in shape [3,-4]")
  raises(function() return loupe.rand(-2) end, "negative size -2")
  raises(function() return loupe.randperm(-1) end, "randperm: n must be non-negative, got -1")
  raises(function() return loupe.linspace(0, 1, -1) end, "linspace: number of steps must be non-negative, got -1")
  raises(function() return loupe.eye(-1) end, "eye: sizes must be non-negative, got -1 and -1")
  raises(function() return loupe.ones(6):view(-2, 3) end, "view: invalid size -2 in shape [-2,3]")
  raises(function() return loupe.ones(2, 3):expand(-2, 3) end, "expand: cannot expand shape [2,3] to [-2,3]")
  raises(function() return loupe.ones(3):narrow(1, 1, -1) end, "narrow: length must be non-negative, got -1")
  raises(function() return loupe.ones(3):split(0) end, "split: size must be positive, got 0")
  raises(function() return loupe.ones(3):chunk(-1) end, "chunk: number of chunks must be positive, got -1")
  raises(function() return loupe.arange(10, 0) end, "arange: step 1 goes the wrong way from 10 to 0")
  raises(function() return loupe.arange(0, 10, 0) end, "arange: invalid range start=0 end=10 step=0")
  raises(function() return loupe.randint(5, 5, 3) end, "randint: empty range [5, 5)")
end

function tests.absurd_sizes_are_out_of_memory_errors()
  raises(function() return loupe.zeros(1e12, 1e12) end, "out of memory")
  raises(function() return loupe.zeros(1e12, 1e12) end, "[1000000000000,1000000000000]")
  raises(function() return loupe.ones(1e6, 1e6) end, "out of memory allocating tensor [1000000,1000000] float32")
  raises(function() return loupe.rand(1e12, 1e12) end, "out of memory")
  raises(function() return loupe.randn{2^40, 2^40} end, "out of memory")
  raises(function() return loupe.full({1e12, 1e12}, 3) end, "out of memory")
  raises(function() return loupe.zeros(2^62, 4) end, "out of memory")
  raises(function() return loupe.zeros(0, 2^62, 2^62) end, "out of memory") -- strides overflow
  raises(function() return loupe.zeros(1e19) end, "zeros: out of memory: size 1e+19 is too large")
  raises(function() return loupe.zeros(math.huge) end, "zeros: out of memory: size inf is too large")
  raises(function() return loupe.zeros(0 / 0) end, "zeros: sizes must be integers")
  raises(function() return loupe.randperm(1e13) end, "out of memory")
  raises(function() return loupe.eye(1e7) end, "out of memory")
  raises(function() return loupe.arange(1e14) end, "out of memory")
  raises(function() return loupe.linspace(0, 1, 1e13) end, "out of memory")
  raises(function() return loupe.ones(1):expand(1e12, 1e12):contiguous() end, "out of memory")
  raises(function() return loupe.ones(1e6, 1):expand(1e6, 1e6) + 1 end, "out of memory")
  raises(function() return loupe.zeros(1, 1, 1, 1, 1, 1, 1, 1, 1) end, "zeros: at most 8 dimensions supported")
  raises(function() return loupe.tensor{{{{{{{{{1}}}}}}}}} end, "tensor: nesting deeper than 8 dimensions")
  raises(function() return loupe.ones(1, 1, 1, 1, 1, 1, 1, 1):unsqueeze(1) end, "unsqueeze: at most 8 dimensions supported")
  -- nothing was leaked or broken: ordinary allocations still work
  eq(loupe.ones(3):sum():item(), 3)
end

-- Extreme integers found by the fuzz test under UBSan (signed overflow): each is an error
-- or a correct result, never undefined behaviour.
function tests.extreme_integers()
  raises(function() return loupe.ones(6):view(3, 2^62) end,
         "view: shape [3,4611686018427387904] is invalid for 6 elements")
  raises(function() return loupe.ones(6):reshape(2^62, 2^62, 0, -1) end, "reshape: shape")
  raises(function() return loupe.ones(0):view(0, 2^62, 4) end,
         "view: shape [0,4611686018427387904,4] is invalid for 0 elements") -- strides overflow
  eq(loupe.ones(0):view(0, 5, 4):numel(), 0)
  raises(function() return loupe.ones(1):expand(0, 2^62, 2^62) end, "expand: out of memory")
  -- empty tensors with huge other sizes: ops finish at once instead of looping over 2^40
  -- empty rows (the fuzz test hung on these)
  local e, f = loupe.zeros(2^40, 0), loupe.zeros(0, 2^40)
  for _, r in ipairs{e + 1, f * 2, e:maximum(e), e:gt(0), loupe.where(e:gt(0), e, 1), e:exp(),
                     e:clone(), f:t():contiguous(), e:log_softmax(2), f:softmax(1), e:sum(1),
                     loupe.cat{f, f}} do
    eq(r:numel(), 0)
  end
  raises(function() return e:sum(2) end, "out of memory") -- 2^40 sums of nothing: 4 TB of zeros
  -- nor do they make 2^40 Lua values
  raises(function() return e:totable() end, "totable: a tensor of shape [1099511627776,0] needs more than")
  raises(function() return e:split(1) end, "split: 1099511627776 pieces requested, at most 4194304 supported")
  raises(function() return e:chunk(2^40) end, "chunk: 1099511627776 pieces requested")
  eq(#loupe.zeros(3, 0):totable(), 3)
  local big = loupe.tensor({math.mininteger, math.maxinteger}, "int64")
  raises(function() return loupe.ones(3):index_select(1, big) end,
         "index_select: index -9223372036854775808 out of range for dimension 1 of size 3")
  raises(function() return loupe.ones(3):index_select(1, big:narrow(1, 2, 1)) end,
         "index_select: index 9223372036854775807 out of range for dimension 1 of size 3")
  raises(function() return loupe.ones(1, 3):gather(2, big:view(1, 2)) end,
         "gather: index -9223372036854775808 out of range for dimension 2 of size 3")
  local r = loupe.randint(math.mininteger, 2, 200)
  for _, v in ipairs(r:totable()) do truthy(v < 2, "randint below its high") end
  local wide = loupe.randint(math.mininteger, math.maxinteger, 100):totable()
  truthy(wide[1] ~= wide[2], "randint over (almost) the whole int64 range")
  raises(function() return loupe.ones(2)[math.mininteger] end,
         "index -9223372036854775808 out of range for dimension 1 of size 2")
  raises(function() return loupe.ones(2):narrow(1, math.mininteger, 1) end, "narrow: range")
  raises(function() return loupe.ones(2):sum(math.mininteger) end, "sum: dimension -9223372036854775808 out of range")
  raises(function() return loupe.ones(3):narrow(1, 2, math.maxinteger) end,
         "narrow: start 2 with length 9223372036854775807 out of range for dimension 1 of size 3")
  raises(function() return loupe.ones(1):expand(2^62, 2^62) end,
         "expand: out of memory: shape [4611686018427387904,4611686018427387904] has too many elements")
  eq(#loupe.ones(5):chunk(math.maxinteger), 5)
end

-- ---- dtypes: int64 / uint8 into float-only math ----

function tests.int_tensors_in_float_only_ops()
  local i = loupe.arange(3)
  local hint = "expected a float32 tensor, got int64 (convert with :float())"
  raises(function() return i + 1 end, "add: " .. hint)
  raises(function() return i * loupe.ones(3) end, "mul: " .. hint)
  raises(function() return -i end, "neg: " .. hint)
  raises(function() return i:exp() end, "exp: " .. hint)
  raises(function() return i:sum() end, "sum: " .. hint)
  raises(function() return i:mean() end, "mean: " .. hint)
  raises(function() return i:max() end, "max: " .. hint)
  raises(function() return i:clamp(0, 1) end, "clamp: " .. hint)
  raises(function() return i:softmax(1) end, "softmax: expected a float32 tensor, got int64")
  raises(function() return i:mm(i) end, "mm: expected float32 tensors, got int64 and int64")
  raises(function() return i:add_(1) end, "add_: " .. hint)
  raises(function() return loupe.where(i:gt(0), i, 0) end, "where: " .. hint)
  raises(function() return i:requires_grad_() end, "requires_grad_: only float32 tensors can require gradients, got int64")
  raises(function() return loupe.ones(2):byte():sqrt() end, "sqrt: expected a float32 tensor, got uint8")
  raises(function() return loupe.zeros(3, {dtype = "int64", requires_grad = true}) end,
         "requires_grad: only float32 tensors can require gradients")
  raises(function() return loupe.rand(3, "int64") end, "rand: only float32 is supported")
  -- index tensors must be int64
  raises(function() return loupe.ones(3):index_select(1, loupe.tensor{1, 2}) end,
         "index_select: index must be an int64 tensor, got float32 (convert with :long())")
  raises(function() return loupe.ones(3):gather(1, loupe.tensor({1}, "uint8")) end,
         "gather: index must be an int64 tensor, got uint8")
  raises(function() return loupe.cat{loupe.ones(2), loupe.arange(2)} end,
         "cat: tensor 2 has shape [2] int64, expected [2] float32 except in dimension 1")
end

-- ---- shapes that do not fit ----

function tests.shape_mismatches()
  raises(function() return loupe.ones(2, 3) + loupe.ones(4) end, "add: shapes [2,3] and [4] cannot be broadcast together")
  raises(function() return loupe.ones(2, 3):gt(loupe.ones(2)) end, "gt: shapes [2,3] and [2] cannot be broadcast together")
  raises(function() return loupe.ones(3):add_(loupe.ones(2, 3)) end, "add_: the result of shape [2,3] does not fit the tensor of shape [3]")
  raises(function() return loupe.ones(2, 3):copy_(loupe.ones(4)) end, "copy_: shapes [2,3] and [4] cannot be broadcast together")
  raises(function() loupe.ones(2, 3)[1] = loupe.ones(4) end, "copy_: shapes [3] and [4] cannot be broadcast together")
  raises(function() return loupe.ones(2, 3):masked_fill_(loupe.ones(3, 3):gt(0), 1) end, "masked_fill_: shapes [2,3] and [3,3]")
  raises(function() return loupe.ones(2, 3)[loupe.ones(2, 2):gt(0)] end, "masked_select: shapes [2,3] and [2,2]")
  raises(function() return loupe.ones(2, 3):expand(4, 3) end, "expand: cannot expand shape [2,3] to [4,3]")
  raises(function() return loupe.cat{loupe.ones(2, 3), loupe.ones(2, 2)} end, "cat: tensor 2 has shape [2,2] float32, expected [2,3] float32 except in dimension 1")
  raises(function() return loupe.stack{loupe.ones(2, 3), loupe.ones(3, 2)} end, "stack: tensor 2 has shape [3,2], expected [2,3] like tensor 1")
  raises(function() return loupe.cat{} end, "cat: expected a non-empty list of tensors")
  raises(function() return loupe.ones(2, 3):gather(2, loupe.tensor({{1}, {1}, {1}}, "int64")) end, "gather: index of shape [3,1] does not fit input of shape [2,3]")
  raises(function() return loupe.ones(2, 3):index_select(2, loupe.tensor({{1}}, "int64")) end, "index_select: index must be 1-D, got shape [1,1]")
  raises(function() return loupe.ones(2, 3):item() end, "item: expected a tensor with one element, got shape [2,3]")
  raises(function() return loupe.zeros(0):max() end, "max: cannot reduce an empty dimension (shape [0])")
  raises(function() return loupe.einsum("ij,jk->ik", loupe.ones(2, 3), loupe.ones(2, 3)) end, "einsum: index 'j' has size 2 in operand 2 but 3 elsewhere in 'ij,jk->ik'")
  raises(function() return loupe.einsum("ij->k", loupe.ones(2, 3)) end, "einsum: output index 'k' does not appear in the inputs of 'ij->k'")
  raises(function() return loupe.einsum("ij", loupe.ones(2, 3), loupe.ones(2, 3)) end, "einsum: equation 'ij' names 1 operands, 2 given")
  raises(function() return loupe.einsum("ii->i", loupe.ones(2, 2)) end, "einsum: index 'i' repeats within operand 1 of 'ii->i' (diagonals are not supported)")
  raises(function() return loupe.ones(2, 3):clamp() end, "clamp: at least one of min and max must be given")
  raises(function() loupe.ones(2, 3).grad = loupe.ones(2) end, "grad: assigned gradient has shape [2] float32, expected [2,3] float32")
end

-- ---- freed tensors ----

function tests.freed_tensor_use()
  local t = loupe.ones(2, 2)
  t:free()
  raises(function() return t + 1 end, "add: tensor was freed (argument 1)")
  raises(function() return loupe.ones(2, 2) * t end, "mul: tensor was freed (argument 2)")
  raises(function() return t:sum() end, "sum: tensor was freed")
  raises(function() return t:shape() end, "shape: tensor was freed")
  raises(function() return t[1] end, "tensor was freed")
  raises(function() t[1] = 0 end, "tensor was freed")
  raises(function() return t.grad end, "tensor was freed")
  raises(function() return loupe.cat{t, t} end, "cat: tensor was freed")
  raises(function() return #t end, "tensor was freed")
  eq(tostring(t), "tensor(freed)")
  t:free() -- freeing twice is harmless
  -- to-be-closed variables free on scope exit
  local kept
  do
    local c <close> = loupe.ones(3)
    kept = c
  end
  raises(function() return kept:sum() end, "tensor was freed")
  -- a view keeps the storage alive after its base is freed
  local base = loupe.arange(4):float()
  local v = base:view(2, 2)
  base:free()
  eq(v:sum():item(), 6)
end

-- ---- autograd misuse ----

function tests.inplace_on_a_leaf_that_requires_grad()
  local w = loupe.ones(2, 2):requires_grad_()
  local msg = "in-place operation on a tensor that requires grad (use loupe.no_grad or detach() to modify it)"
  raises(function() w:add_(1) end, "add_: " .. msg)
  raises(function() w:mul_(2) end, "mul_: " .. msg)
  raises(function() w:fill_(0) end, "fill_: " .. msg)
  raises(function() w:zero_() end, "zero_: " .. msg)
  raises(function() w:clamp_(0, 1) end, "clamp_: " .. msg)
  raises(function() w:relu_() end, "relu_: " .. msg)
  raises(function() w:copy_(loupe.zeros(2, 2)) end, "copy_: " .. msg)
  raises(function() w:masked_fill_(w:gt(0), 0) end, "masked_fill_: " .. msg)
  raises(function() w[1] = 0 end, "assignment: " .. msg)
  raises(function() w[w:gt(0)] = 0 end, "masked_fill_: " .. msg)
  eq(w:sum():item(), 4, "nothing was modified")
end

function tests.autograd_misuse()
  local x = loupe.ones(3):requires_grad_()
  local y = (x * x):sum()
  y:backward()
  raises(function() y:backward() end,
         "SumBackward: trying to backward through the graph a second time (pass retain_graph=true the first time)")
  raises(function() loupe.ones(3):sum():backward() end, "backward: the tensor does not require grad and has no grad_fn")
  raises(function() (x * 2):backward() end, "backward: a gradient must be given for a tensor of shape [3]")
  raises(function() (x * 2):backward(loupe.ones(4)) end, "backward: gradient has shape [4] float32, expected [3] float32")
  raises(function() (x * 2):requires_grad_() end, "requires_grad_: only leaf tensors can be marked; this one comes from MulBackward")
  raises(function() (x * 2).requires_grad = false end, "requires_grad: only leaf tensors can be changed")
  local s = x * x
  loupe.no_grad(function() x:mul_(3) end)
  raises(function() s:sum():backward() end,
         "MulBackward: a tensor needed for the gradient was modified by an in-place operation after it was used")
end

-- ---- miscellaneous argument checks ----

function tests.other_misuse()
  raises(function() return loupe.arange() end, "arange: expected (end), (start, end) or (start, end, step)")
  raises(function() return loupe.arange(0, 1, 1e-20) end, "arange: 1e+20 elements requested")
  raises(function() loupe.set_num_threads(0) end, "set_num_threads: expected a positive count, got 0")
  raises(function() loupe.manual_seed(1.5) end, "bad argument #1 to 'manual_seed'")
  raises(function() return loupe.ones(2):norm(-1) end, "norm: p must be positive (or inf), got -1")
  raises(function() return loupe.ones(2, 3):t():t():t():permute(1, 2, 3) end, "permute: 3 dimensions given for a tensor with 2")
  raises(function() return loupe.ones(2, 3, 4):t() end, "t: expects a tensor with at most 2 dimensions, got [2,3,4]")
  raises(function() loupe.ones(2)[loupe.tensor({1}, "int64")] = 1 end, "assignment through an index tensor is not supported")
  raises(function() return loupe.ones(2):repeat_(2) end, "attempt to call a nil value (method 'repeat_')")
end

-- ---- no input crashes the process ----

-- Calls every tensor method and loupe function many times with awkward arguments (nil,
-- strings, tables, 0, negatives, huge and non-finite numbers, tensors of every dtype, empty,
-- 0-d, non-contiguous, expanded, freed and grad-requiring ones, and the results of earlier
-- calls) in a child process: it must finish normally, with each bad call a Lua error. Under
-- `make SANITIZE=1 test` this found signed overflows (view sizes, randint ranges, index
-- values, empty shapes with huge sizes) and reference leaks in the bindings.
function tests.fuzz_never_crashes()
  local host = os.getenv("LOUPE") or "./loupe"
  local script = [=[
    local loupe = require "loupe"
    local seed, N = tonumber(arg[1]), tonumber(arg[2])
    math.randomseed(seed)
    local function values()
      local freed = loupe.ones(2); freed:free()
      return {
        nil, 0, 1, 2, -1, 3, -5, 1e12, 2^62, -2^63, math.huge, -math.huge, 0/0, 1.5, 9,
        math.maxinteger, math.mininteger, "int64", {}, {1}, {2, 3}, {{}}, {0}, {1, 2, 3}, {-1}, {{1, 2}}, {{0, 1}},
        {retain_graph = true}, {dtype = "int64"}, true, false, print,
        loupe.tensor(1.5), loupe.zeros(0), loupe.zeros(0, 3), loupe.ones(3), loupe.ones(2, 3),
        loupe.arange(4), loupe.arange(6):view(2, 3), loupe.tensor({1, 0, 1}, "uint8"),
        loupe.ones(2, 3):t(), loupe.ones(3, 1):expand(3, 4), loupe.randn(2, 3, 4),
        loupe.ones(2, 2):requires_grad_(), loupe.ones(2, 2):requires_grad_() * 2,
        loupe.tensor({1, 2}, "int64"), loupe.tensor({5, 1}, "int64"), loupe.tensor({{1}}, "int64"),
        freed, loupe.ones(1, 1, 1, 1, 1, 1, 1, 1),
      }
    end
    local NV, FIRST_TENSOR = 50, 33
    local skip = {free = true, set_num_threads = true, manual_seed = true, set_rng_state = true,
                  no_grad = true, enable_grad = true, save = true, load = true, set_grad_enabled = true,
                  mkdir = true, write_file = true} -- these would litter the working folder
    local fns = {}
    for k, v in pairs(loupe.Tensor) do
      if type(v) == "function" and not skip[k] then fns[#fns + 1] = {k, v, true} end
    end
    for k, v in pairs(loupe) do
      if type(v) == "function" and not skip[k] then fns[#fns + 1] = {k, v, false} end
    end
    local meta = getmetatable(loupe.ones(1))
    for _, k in ipairs{"__add", "__sub", "__mul", "__div", "__pow", "__unm", "__index",
                       "__newindex", "__len", "__tostring"} do
      fns[#fns + 1] = {k, meta[k], true}
    end
    table.sort(fns, function(a, b) return a[1] < b[1] end)
    local vals, calls = values(), 0
    for it = 1, N do
      local f = fns[math.random(#fns)]
      local args = {}
      for i = 1, math.random(0, 4) do args[i] = vals[math.random(NV)] end
      if f[3] and math.random() < 0.9 then table.insert(args, 1, vals[math.random(FIRST_TENSOR, NV)]) end
      local ok, res = pcall(f[2], table.unpack(args, 1, 5))
      -- results feed later calls (views of views, grads of results, ...)
      if ok and loupe.is_tensor(res) and res:numel() < 100000 then
        vals[math.random(FIRST_TENSOR, NV)] = res
      end
      loupe.set_grad_enabled(true)
      calls = calls + 1
      if it % 1000 == 0 then vals = values(); collectgarbage() end
    end
    print("fuzz ok " .. calls)
  ]=]
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(script)
  f:close()
  local n = os.getenv("SANITIZE") == "1" and 20000 or 100000
  for _, seed in ipairs{1, 2, 3} do
    -- LOUPE_MAX_BYTES: no single allocation above 1 GB (arange(0, 1e12, 9) would ask for
    -- 444 GB, which only fails cleanly where the kernel refuses to overcommit); under
    -- AddressSanitizer a refused allocation must return NULL, as malloc does; timeout: a
    -- hang is a failure too
    local p = io.popen(("LOUPE_MAX_BYTES=1000000000 ASAN_OPTIONS=allocator_may_return_null=1 "
      .. "LOUPE_THREADS=2 timeout 120 %s %s %d %d 2>&1"):format(host, path, seed, n))
    local out = p:read("a")
    local ok, how, code = p:close()
    if not (ok and out:find("fuzz ok " .. n, 1, true)) then
      os.remove(path)
      error(("fuzz seed %d: the child ended with %s %s:\n%s"):format(seed, tostring(how), tostring(code), out:sub(-3000)))
    end
  end
  os.remove(path)
end

return tests
