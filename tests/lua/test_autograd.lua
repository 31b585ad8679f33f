-- test_autograd.lua — the semantics of reverse-mode autograd: requires_grad_, .grad,
-- backward([grad] [, {retain_graph}]), accumulation, detach, no_grad / enable_grad, grad_fn
-- names, the graph being freed after backward, and in-place changes to saved tensors.
local loupe = require "loupe"
local T = require "testlib"
local eq, close, raises, truthy = T.eq, T.close, T.raises, T.truthy

local tests = {}

-- Central finite differences of the scalar function f at x (float32: eps ~ 1e-2 keeps the
-- rounding error small against the truncation error for smooth functions).
local function numeric_grad(f, x, eps)
  eps = eps or 1e-2
  local g = loupe.zeros_like(x)
  local flat, gflat = x:view(-1), g:view(-1)
  loupe.no_grad(function()
    for i = 1, x:numel() do
      local old = flat[i]:item()
      flat[i] = old + eps
      local fp = f(x):item()
      flat[i] = old - eps
      local fm = f(x):item()
      flat[i] = old
      gflat[i] = (fp - fm) / (2 * eps)
    end
  end)
  return g
end

function tests.x_times_x()
  -- the issue's example: y = sum(x * x), dy/dx = 2x
  local x = loupe.tensor{1, 2, 3}:requires_grad_()
  local y = (x * x):sum()
  eq(y.requires_grad, true)
  eq(y:grad_fn(), "SumBackward")
  y:backward()
  close(x.grad, {2, 4, 6})
  close(x.grad, numeric_grad(function(t) return (t * t):sum() end, x:detach():clone()), 1e-3)
end

function tests.numeric_check_of_a_composite()
  loupe.manual_seed(7)
  local W = loupe.randn(4, 3):requires_grad_()
  local b = loupe.randn(3):requires_grad_()
  local x = loupe.randn(5, 4):requires_grad_()
  local function f(W_, b_, x_)
    local h = (x_:mm(W_) + b_):tanh()          -- broadcasting bias
    local z = h * h:sigmoid() - 0.5 * h:exp()  -- a value used twice
    return (z:sum(2) / (1 + x_:pow(2):sum(2))):mean()
  end
  local y = f(W, b, x)
  y:backward()
  local Wd, bd, xd = W:detach():clone(), b:detach():clone(), x:detach():clone()
  close(W.grad, numeric_grad(function(t) return f(t, bd, xd) end, Wd), 2e-3, "W")
  close(b.grad, numeric_grad(function(t) return f(Wd, t, xd) end, bd), 2e-3, "b")
  close(x.grad, numeric_grad(function(t) return f(Wd, bd, t) end, xd), 2e-3, "x")
end

function tests.gradients_through_views_and_indexing()
  local x = loupe.tensor{{1, 2, 3}, {4, 5, 6}}:requires_grad_()
  local y = x[2][3] * 10 + x[{{}, {1, 2}}]:sum() + x:t()[1]:sum() * 2
  y:backward()
  close(x.grad, {{3, 1, 0}, {3, 1, 10}})
  local v = loupe.tensor{1, 2, 3, 4}:requires_grad_()
  local s = v:view(2, 2):permute(2, 1):reshape(4)
  s:backward(loupe.tensor{1, 2, 3, 4})
  close(v.grad, {1, 3, 2, 4}, nil, "the gradient follows the permutation back")
  local e = loupe.tensor{{1}, {2}}:requires_grad_()
  e:expand(2, 3):sum():backward()
  close(e.grad, {{3}, {3}}, nil, "expand sums the gradient back")
end

function tests.broadcast_gradients_are_reduced_to_the_input_shape()
  local a = loupe.ones(2, 3):requires_grad_()
  local b = loupe.tensor{1, 2, 3}:requires_grad_()
  local c = loupe.tensor(2):requires_grad_()
  local y = (a * b + c) * 1
  y:sum():backward()
  close(a.grad, {{1, 2, 3}, {1, 2, 3}})
  close(b.grad, {2, 2, 2})
  eq(c.grad:dim(), 0)
  eq(c.grad:item(), 6)
end

function tests.gradients_accumulate()
  local x = loupe.tensor{1, 2, 3}:requires_grad_();
  (x * x):sum():backward();
  (x * 3):sum():backward()
  close(x.grad, {5, 7, 9}, nil, "two backward passes add up")
  x.grad = nil
  eq(x.grad, nil, "assigning nil clears the gradient");
  (x * 3):sum():backward()
  close(x.grad, {3, 3, 3})
  loupe.no_grad(function() x.grad:zero_() end)
  close(x.grad, {0, 0, 0})
  -- a tensor used twice in one graph receives both contributions
  local w = loupe.tensor{2}:requires_grad_()
  local z = w * w * w
  z:backward()
  close(w.grad, {12})
end

function tests.explicit_output_gradient()
  local x = loupe.tensor{1, 2, 3}:requires_grad_()
  local y = x * x
  y:backward(loupe.tensor{1, 0, 2})
  close(x.grad, {2, 0, 12})
  raises(function() (x * x):backward() end,
         "backward: a gradient must be given for a tensor of shape [3]")
  raises(function() (x * x):backward(loupe.ones(2)) end,
         "backward: gradient has shape [2] float32, expected [3] float32")
  -- backward on a leaf accumulates its own gradient
  local leaf = loupe.tensor{5}:requires_grad_()
  leaf:backward()
  close(leaf.grad, {1})
end

function tests.graph_is_freed_after_backward()
  local x = loupe.tensor{1, 2, 3}:requires_grad_()
  local y = (x * x):sum()
  y:backward()
  eq(y:grad_fn(), "SumBackward", "the spent result still names its node")
  eq(y.requires_grad, true)
  raises(function() y:backward() end,
         "SumBackward: trying to backward through the graph a second time (pass retain_graph=true the first time)")
  -- building on a spent result and going back through it is refused the same way
  raises(function() (y * 2):backward() end, "SumBackward: trying to backward through the graph a second time")
  -- a part of the spent graph cannot be reused either
  local z = x * x
  z:sum():backward()
  raises(function() z:sum():backward() end,
         "MulBackward: trying to backward through the graph a second time")
end

function tests.retain_graph_allows_a_second_backward()
  local x = loupe.tensor{1, 2, 3}:requires_grad_()
  local y = (x * x):sum()
  y:backward({retain_graph = true})
  y:backward()
  close(x.grad, {4, 8, 12})
  raises(function() y:backward() end, "second time")
  local g = loupe.tensor{2, 2, 2}
  local x2 = loupe.tensor{1, 1, 1}:requires_grad_()
  local y2 = x2 * 3
  y2:backward(g, {retain_graph = true})
  y2:backward(g)
  close(x2.grad, {12, 12, 12})
end

function tests.inplace_change_of_a_saved_tensor_is_an_error()
  local x = loupe.tensor{1, 2, 3}:requires_grad_()
  local y = x * x                       -- saves x
  loupe.no_grad(function() x:add_(1) end)
  raises(function() y:sum():backward() end,
         "MulBackward: a tensor needed for the gradient was modified by an in-place operation")
  eq(x.grad, nil, "no gradient was written")
  -- the same through a detached alias (shares storage)
  local a = loupe.tensor{1, 2}:requires_grad_()
  local e = a:exp()                     -- saves its output
  e:detach():mul_(2)
  raises(function() e:sum():backward() end, "ExpBackward: a tensor needed for the gradient")
  -- the same through index and masked assignment on a detached alias
  local b = loupe.tensor{1, 2}:requires_grad_()
  local c = b * b
  b:detach()[1] = 5
  raises(function() c:sum():backward() end, "MulBackward: a tensor needed for the gradient")
  local d = loupe.tensor{1, 2}:requires_grad_()
  local e2 = d:sigmoid()
  local alias = e2:detach()
  alias[alias:gt(0)] = 0
  raises(function() e2:sum():backward() end, "SigmoidBackward: a tensor needed for the gradient")
  -- an in-place change to a tensor the graph does not need is fine
  local p = loupe.tensor{1, 2}:requires_grad_()
  local q = p + 1                       -- AddBackward saves nothing
  loupe.no_grad(function() p:mul_(10) end)
  q:sum():backward()
  close(p.grad, {1, 1})
end

function tests.inplace_on_tensors_that_require_grad()
  local x = loupe.tensor{1, 2, 3}:requires_grad_()
  raises(function() x:add_(1) end, "add_: in-place operation on a tensor that requires grad")
  raises(function() x[1] = 0 end, "assignment: in-place operation on a tensor that requires grad")
  raises(function() (x * 2):mul_(2) end, "mul_: in-place operation on a tensor that requires grad")
  -- allowed under no_grad (an optimizer step)
  loupe.no_grad(function()
    x:add_(1)
    x[1] = 0
  end)
  close(x, {0, 3, 4})
  eq(x.requires_grad, true)
end

function tests.detach()
  local x = loupe.tensor{1, 2, 3}:requires_grad_()
  local y = x * 2
  local d = y:detach()
  eq(d.requires_grad, false)
  eq(d:grad_fn(), nil)
  eq(d:is_leaf(), true)
  local xd = x:detach()
  xd[1] = 10
  eq(x[1]:item(), 10, "detach shares storage")
  local z = x * 2 + x:detach() * 100
  z:sum():backward()
  close(x.grad, {2, 2, 2}, nil, "no gradient through the detached branch")
  -- detach_ in place
  local w = x * 3
  w:detach_()
  eq(w.requires_grad, false)
  eq(w:grad_fn(), nil)
end

function tests.no_grad_and_enable_grad()
  local x = loupe.tensor{1, 2}:requires_grad_()
  truthy(loupe.is_grad_enabled())
  local y = loupe.no_grad(function()
    eq(loupe.is_grad_enabled(), false)
    return x * 2
  end)
  eq(y.requires_grad, false, "no_grad records nothing")
  eq(y:grad_fn(), nil)
  local a, b = loupe.no_grad(function(u, v) return u + v, 7 end, 1, 2)
  eq(a, 3, "no_grad passes arguments and returns every result")
  eq(b, 7)
  local z = loupe.no_grad(function()
    return loupe.enable_grad(function() return x * 2 end)
  end)
  eq(z.requires_grad, true, "enable_grad inside no_grad records")
  truthy(loupe.is_grad_enabled(), "mode restored")
  -- an error inside no_grad restores the mode
  local ok = pcall(loupe.no_grad, function() error("boom") end)
  eq(ok, false)
  truthy(loupe.is_grad_enabled(), "mode restored after an error")
  -- set_grad_enabled returns the previous mode
  eq(loupe.set_grad_enabled(false), true)
  eq((x * 2).requires_grad, false)
  eq(loupe.set_grad_enabled(true), false)
end

function tests.grad_fn_names_and_leaves()
  local x = loupe.tensor{{1, 2}, {3, 4}}:requires_grad_()
  eq(x:grad_fn(), nil)
  eq(x:is_leaf(), true)
  local names = {
    {x + 1, "AddBackward"}, {x - x, "SubBackward"}, {x * 2, "MulBackward"},
    {x / 2, "DivBackward"}, {x ^ 2, "PowBackward"}, {-x, "NegBackward"},
    {x:exp(), "ExpBackward"}, {x:log(), "LogBackward"}, {x:tanh(), "TanhBackward"},
    {x:sigmoid(), "SigmoidBackward"}, {x:relu(), "ReluBackward"},
    {x:sum(), "SumBackward"}, {x:mean(), "MeanBackward"}, {x:mm(x), "MmBackward"},
    {x:view(4), "ViewBackward"}, {x:t(), "PermuteBackward"}, {x[1], "SelectBackward"},
    {x:narrow(1, 1, 1), "NarrowBackward"}, {x:expand(3, 2, 2), "ExpandBackward"},
    {x:clone(), "CloneBackward"}, {x:clamp(0, 1), "ClampBackward"},
    {loupe.where(x:gt(2), x, 0), "WhereBackward"},
  }
  for _, p in ipairs(names) do
    eq(p[1]:grad_fn(), p[2])
    eq(p[1]:is_leaf(), false)
  end
  eq((x * 2).grad, nil, "non-leaf results keep no .grad")
  -- only leaves can be marked, and only float32 ones
  raises(function() (x * 2):requires_grad_() end, "requires_grad_: only leaf tensors")
  raises(function() loupe.arange(3):requires_grad_() end,
         "requires_grad_: only float32 tensors can require gradients, got int64")
  -- requires_grad_(false) turns it off again
  local y = loupe.ones(2):requires_grad_()
  y:requires_grad_(false)
  eq(y.requires_grad, false)
  y.requires_grad = true
  eq(y.requires_grad, true)
end

function tests.ops_on_inputs_without_grad_record_nothing()
  local a = loupe.ones(2)
  local b = a * 2
  eq(b.requires_grad, false)
  eq(b:grad_fn(), nil)
  raises(function() b:sum():backward() end, "backward: the tensor does not require grad")
  -- int64 results are never differentiable
  local x = loupe.tensor{1.5, 2.5}:requires_grad_()
  local _, idx = x:max(1)
  eq(idx.requires_grad, false)
  eq(x:long().requires_grad, false)
end

function tests.gradient_of_an_input_image()
  -- class-visualisation style: the gradient reaches an input that is not a parameter
  loupe.manual_seed(11)
  local img = loupe.rand(1, 3, 4, 4):requires_grad_()
  local w = loupe.randn(48, 2)
  local score = img:view(1, 48):mm(w)[1][2]
  score:backward()
  close(img.grad:view(48), w:select(2, 2), 1e-6)
end

function tests.long_chains_do_not_overflow_the_stack()
  local x = loupe.tensor{1}:requires_grad_()
  local y = x
  for _ = 1, 20000 do y = y * 1 end
  y:sum():backward()
  close(x.grad, {1})
  -- dropping a long unused graph frees it iteratively too
  local z = x
  for _ = 1, 20000 do z = z + 0 end
  z = nil
  collectgarbage()
end

return tests
