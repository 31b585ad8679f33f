-- test_layers.lua — properties of the layer primitives that PyTorch fixtures cannot show:
-- dropout's statistics and determinism, conv2d's image chunking (a batch equals its images
-- one by one), batch norm's in-place update of the running statistics, [C, H, W] inputs.
local loupe = require "loupe"
local T = require "testlib"
local F = loupe.functional

local tests = {}

tests.dropout_statistics = function()
  loupe.manual_seed(11)
  local n, p = 200000, 0.3
  local x = loupe.rand(n) + 0.5
  local y = F.dropout(x, p)
  local zero = y:eq(0):float():mean():item()
  T.close(zero, p, 0.01, "fraction zeroed") -- sd of the fraction is 1e-3
  local kept = y:ne(0)
  T.close(y[kept] / x[kept], loupe.full({kept:float():sum():item()}, 1 / (1 - p)), 1e-6, "scale")
  T.close(y:mean():item(), x:mean():item(), 0.01, "mean preserved")
end

tests.dropout_identity_and_edges = function()
  local x = loupe.randn(4, 5)
  T.truthy(F.dropout(x, 0.5, false):equal(x), "eval mode is the identity")
  T.truthy(F.dropout(x, 0):equal(x), "p = 0 is the identity")
  T.eq(F.dropout(x, 1):abs():sum():item(), 0, "p = 1 zeroes everything")
end

tests.dropout_seeded = function()
  local x = loupe.ones(64, 64)
  loupe.manual_seed(3)
  local a = F.dropout(x, 0.5)
  local b = F.dropout(x, 0.5)
  loupe.manual_seed(3)
  local c = F.dropout(x, 0.5)
  T.truthy(a:equal(c), "same seed, same mask")
  T.truthy(not a:equal(b), "the next call draws a new mask")
  local threads = loupe.get_num_threads()
  loupe.set_num_threads(1)
  loupe.manual_seed(3)
  local d = F.dropout(x, 0.5)
  loupe.set_num_threads(threads)
  T.truthy(a:equal(d), "independent of the thread count")
end

tests.dropout_backward_uses_the_mask = function()
  loupe.manual_seed(5)
  local x = loupe.randn(10, 10):requires_grad_()
  local y = F.dropout(x, 0.25)
  y:sum():backward()
  local mask = y:detach():ne(0):float() / 0.75
  T.close(x.grad, mask, 1e-6)
end

-- 40x40 = 1600 output positions: conv.c puts 3 images in one sgemm (it aims at 4096
-- columns), so 7 images make chunks of 3, 3 and 1; one image alone takes the unbatched path.
tests.conv2d_batch_equals_images = function()
  loupe.manual_seed(8)
  local x = loupe.randn(7, 2, 42, 42):requires_grad_()
  local w = loupe.randn(3, 2, 3, 3):requires_grad_()
  local b = loupe.randn(3):requires_grad_()
  local gy = loupe.randn(7, 3, 40, 40)
  local y = F.conv2d(x, w, b)
  local loss = (y * gy):sum()
  loss:backward()
  local gx, gw, gb = x.grad, w.grad, b.grad
  x.grad, w.grad, b.grad = nil, nil, nil
  for i = 1, 7 do
    local yi = F.conv2d(x[i], w, b) -- [C, H, W]: a batch of one, one image per sgemm
    T.close(yi, y[i]:detach(), 1e-5, "image " .. i)
    local li = (yi * gy[i]):sum()
    li:backward()
  end
  T.close(x.grad, gx, 1e-5, "input gradient")
  T.close(w.grad, gw, 1e-4, "weight gradient") -- 11200 terms summed in another order
  T.close(b.grad, gb, 1e-4, "bias gradient")
end

tests.conv2d_input_gradient_only = function()
  -- class visualization: frozen weights, gradient for the image only
  loupe.manual_seed(9)
  local x = loupe.randn(1, 3, 16, 16):requires_grad_()
  local w, b = loupe.randn(4, 3, 3, 3), loupe.randn(4)
  F.conv2d(x, w, b, {padding = 1}):square():sum():backward()
  T.truthy(x.grad, "input gradient")
  T.eq(F.conv2d(x, w, b, {padding = 1}):grad_fn(), "Conv2dBackward")
end

tests.batch_norm_running_stats_in_place = function()
  loupe.manual_seed(4)
  local x = loupe.randn(8, 3, 2, 2) * 2 + 1
  local rm, rv = loupe.zeros(3), loupe.ones(3)
  F.batch_norm(x, rm, rv, nil, nil, {training = true, momentum = 0.5})
  local xs = x:transpose(1, 2):reshape(3, -1)
  T.close(rm, xs:mean(2) * 0.5, 1e-5, "running mean")
  T.close(rv, xs:var(2) * 0.5 + 0.5, 1e-5, "running var (unbiased)")
  -- a graph that saved rm sees the in-place update
  local a = loupe.randn(3):requires_grad_()
  local z = (a * rm):sum()
  F.batch_norm(x, rm, rv, nil, nil, {training = true})
  T.raises(function() z:backward() end, "modified")
end

tests.unbatched_inputs = function()
  local x = loupe.randn(2, 6, 6)
  T.eq(table.concat(F.max_pool2d(x, 2):shape(), ","), "2,3,3")
  T.eq(table.concat(F.avg_pool2d(x, 3, {stride = 1}):shape(), ","), "2,4,4")
  T.eq(table.concat(F.adaptive_avg_pool2d(x, {2, 3}):shape(), ","), "2,2,3")
  local v, i = F.adaptive_max_pool2d(x, 1, true)
  T.eq(table.concat(i:shape(), ","), "2,1,1")
  T.close(v:reshape(2), x:reshape(2, 36):max(2), 0)
  T.truthy(i:reshape(2):equal(x:reshape(2, 36):argmax(2)), "1-based flat indices")
  T.eq(table.concat(F.conv2d(x, loupe.randn(4, 2, 3, 3)):shape(), ","), "4,4,4")
end

return tests
