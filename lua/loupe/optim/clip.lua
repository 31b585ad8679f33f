-- clip.lua — gradient clipping as torch.nn.utils.clip_grad_norm_ (1.13):
--
--   local total = loupe.optim.clip_grad_norm_(params, max_norm [, norm_type = 2
--                                             [, error_if_nonfinite = false]])
--
-- params: a tensor or a list of tensors; those without a gradient are ignored. The total norm
-- is the norm_type-norm of all gradients together (norm_type a positive number, or math.huge /
-- "inf" for the largest magnitude); if it exceeds max_norm every gradient is scaled in place
-- by max_norm / (total + 1e-6). Returns the total norm before clipping as a 0-d tensor.
local loupe = require "loupe"

local function clip_grad_norm_(params, max_norm, norm_type, error_if_nonfinite)
  local what = "clip_grad_norm_"
  if loupe.is_tensor(params) then params = {params} end
  if type(params) ~= "table" then
    error(("%s: expected a tensor or a list of tensors, got %s"):format(what, type(params)), 2)
  end
  if type(max_norm) ~= "number" then
    error(("%s: max_norm must be a number, got %s"):format(what, type(max_norm)), 2)
  end
  if norm_type == nil then norm_type = 2 end
  if norm_type == "inf" then norm_type = math.huge end
  if type(norm_type) ~= "number" or not (norm_type > 0) then
    error(("%s: norm_type must be a positive number or 'inf', got %s"):format(
      what, tostring(norm_type)), 2)
  end
  local grads = {}
  for i, p in ipairs(params) do
    if not loupe.is_tensor(p) then
      error(("%s: parameter %d is a %s, not a tensor"):format(what, i, type(p)), 2)
    end
    if p.grad ~= nil then grads[#grads + 1] = p.grad end
  end
  if #grads == 0 then return loupe.tensor(0.0) end
  local total = loupe.no_grad(function()
    local norms = {}
    for i, g in ipairs(grads) do
      norms[i] = norm_type == math.huge and g:abs():max() or g:norm(norm_type)
    end
    local all = loupe.stack(norms)
    return norm_type == math.huge and all:max() or all:norm(norm_type)
  end)
  local t = total:item()
  if error_if_nonfinite and (t ~= t or t == math.huge) then
    error(("%s: the total norm of order %s of the gradients is non-finite (%s), so it cannot "
           .. "be clipped"):format(what, tostring(norm_type), tostring(t)), 2)
  end
  local coef = max_norm / (t + 1e-6)
  if coef < 1 then
    for _, g in ipairs(grads) do g:mul_(coef) end
  end
  return total
end

return clip_grad_norm_
