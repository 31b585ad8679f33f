-- demo.lua — a two-minute tour of loupe's tensors and autograd (run by `make demo`).
local loupe = require "loupe"
loupe.manual_seed(0)

print("loupe " .. loupe.version)
local x = loupe.tensor{{1, 2}, {3, 4}}
print("a tensor:\n" .. tostring(x))
print("x * x + 1 =\n" .. tostring(x * x + 1))
print("row sums: " .. tostring(x:sum(2)))

-- Fit y = 3x - 2 by gradient descent, gradients from autograd.
local inputs = loupe.rand(256, 1)
local targets = inputs * 3 - 2 + loupe.randn(256, 1) * 0.05
local w = loupe.zeros(1, 1):requires_grad_()
local b = loupe.zeros(1):requires_grad_()
for step = 1, 500 do
  local pred = inputs:mm(w) + b
  local loss = ((pred - targets) ^ 2):mean()
  loss:backward()
  loupe.no_grad(function()
    w:add_(w.grad, -0.5)
    b:add_(b.grad, -0.5)
  end)
  w.grad, b.grad = nil, nil
  if step % 100 == 0 then print(("step %3d  loss %.5f"):format(step, loss:item())) end
end
print(("fitted w = %.3f (true 3), b = %.3f (true -2)"):format(w:item(), b:item()))

-- einsum: the bilinear interaction matrix of the eigenvector experiment, in one line.
local u, l, r = loupe.randn(4), loupe.randn(4, 3), loupe.randn(4, 3)
local B = loupe.einsum("o,oi,oj->ij", u, l, r)
print("einsum('o,oi,oj->ij') shape: [" .. table.concat(B:shape(), ",") .. "]")
