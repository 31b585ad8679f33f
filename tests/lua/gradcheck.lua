-- gradcheck.lua — compare autograd gradients with central finite differences.
--
--   local gradcheck = require "gradcheck"
--   gradcheck(fn, {x, y, 3}, {eps = 3e-3, atol = 1e-3, rtol = 1e-2})   -- the defaults
--
-- fn(...) is called with the inputs unpacked and returns a float32 tensor. The scalar checked
-- is the random projection L = (fn(...) * w):sum(), w a fixed random tensor of the output's
-- shape (opts.w to give one), so every output element and every input element matter. For
-- each input that is a float32 tensor requiring grad (a contiguous leaf), the gradient from
-- L:backward() is compared element by element with
--     (L(x + eps e_i) - L(x - eps e_i)) / (x_i+ - x_i-)
-- where fn runs in float32 under no_grad and the denominator is the difference of the
-- perturbed values actually stored (rounded to float32). The projection on the finite
-- difference side is summed in double here rather than by loupe: the float32 rounding of a
-- sum of size ~10 is ~1e-6, which the division by 2 eps would amplify to ~1e-3, while in
-- double only the outputs that moved contribute rounding noise. An element passes when
--     |autograd - numeric| <= atol + rtol * |numeric|.
-- Measured on the cases of test_gradcheck.lua: with eps = 3e-3 the largest absolute
-- deviation of a smooth case is 3e-4 (float32 rounding of the outputs over 2 eps); eps = 1e-3
-- triples that, and eps = 1e-2 brings the truncation error (eps^2 f'''/6) to the percent
-- level near poles such as 1/x at |x| = 0.2. Inputs must stay farther than eps from any kink
-- (abs at 0, max ties, clamp bounds): the check means something only where fn is smooth.
--
-- On success returns the largest |autograd - numeric| seen; on failure raises an error that
-- names the input, the element, both values and the tolerance. The inputs are left as they
-- were (values restored, .grad cleared).
local loupe = require "loupe"

local function flat_values(t)
  local v = t:reshape(-1):totable()
  return v
end

local function gradcheck(fn, inputs, opts)
  opts = opts or {}
  local eps, atol, rtol = opts.eps or 3e-3, opts.atol or 1e-3, opts.rtol or 1e-2
  local n = inputs.n or #inputs
  local function call()
    local out = fn(table.unpack(inputs, 1, n))
    if not loupe.is_tensor(out) then error("gradcheck: fn must return a tensor, got " .. type(out), 3) end
    return out
  end

  -- autograd
  local checked = {}
  for i = 1, n do
    local x = inputs[i]
    if loupe.is_tensor(x) and x.requires_grad then
      if not x:is_leaf() then error(("gradcheck: input %d is not a leaf"):format(i), 2) end
      if not x:is_contiguous() then error(("gradcheck: input %d is not contiguous"):format(i), 2) end
      x.grad = nil
      checked[#checked + 1] = i
    end
  end
  if #checked == 0 then error("gradcheck: no input requires grad", 2) end
  local out = call()
  if out:dtype() ~= "float32" then error("gradcheck: output is " .. out:dtype(), 2) end
  if not out.requires_grad then error("gradcheck: the output does not require grad", 2) end
  local w = opts.w or loupe.randn(out:shape())
  local loss = (out * w):sum()
  loss:backward()

  -- finite differences
  local worst = 0
  loupe.no_grad(function()
    local wv = flat_values(w)
    local function L() -- the projection in double: only the outputs that moved round differently
      local o, s = flat_values(call()), 0.0
      for k = 1, #o do s = s + o[k] * wv[k] end
      return s
    end
    for _, i in ipairs(checked) do
      local x = inputs[i]
      local analytic = x.grad and flat_values(x.grad) or nil
      if x.grad then
        local gs, xs = table.concat(x.grad:shape(), ","), table.concat(x:shape(), ",")
        if gs ~= xs then error(("gradcheck: gradient of input %d has shape [%s], input [%s]"):format(i, gs, xs), 0) end
      end
      local flat = x:view(-1)
      for j = 1, flat:numel() do
        local x0 = flat[j]:item()
        flat[j] = x0 + eps
        local xp = flat[j]:item()
        local fp = L()
        flat[j] = x0 - eps
        local xm = flat[j]:item()
        local fm = L()
        flat[j] = x0
        local numeric = (fp - fm) / (xp - xm)
        local a = analytic and analytic[j] or 0
        local d = math.abs(a - numeric)
        if d > worst then worst = d end
        if not (d <= atol + rtol * math.abs(numeric)) then
          error(("gradcheck: input %d, element %d (of %d): autograd %.6g, numeric %.6g, "
                 .. "diff %.3g > atol %g + rtol %g * |numeric|"):format(
                   i, j, flat:numel(), a, numeric, d, atol, rtol), 0)
        end
      end
    end
  end)
  for _, i in ipairs(checked) do inputs[i].grad = nil end
  return worst
end

return gradcheck
