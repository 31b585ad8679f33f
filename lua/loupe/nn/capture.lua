-- capture.lua — nn.capture(model, names, x): run the model once and keep the outputs of
-- the named submodules.
--
--   local logits, acts = nn.capture(model, {"layer2.1.conv1", "avgpool"}, x)
--   acts["avgpool"]        -- [N, 512, 1, 1], detached
--
-- Forward hooks are placed on each submodule (dotted paths, as Module:get), removed again
-- afterwards (even if the forward fails), and each activation is detached from the graph.
-- The forward runs in the caller's grad mode: wrap it in loupe.no_grad to save memory when
-- gradients are not needed. A module that runs several times in one forward keeps its last
-- output.
local loupe = require "loupe"

return function(model, names, x, ...)
  if type(names) ~= "table" then
    error("capture: expected a list of submodule names, got " .. type(names), 2)
  end
  local acts, handles = {}, {}
  for _, name in ipairs(names) do
    local ok, m = pcall(model.get, model, name)
    if not ok then
      for _, h in ipairs(handles) do h.remove() end
      error("capture: " .. tostring(m):gsub("^.-get: ", ""), 2)
    end
    handles[#handles + 1] = m:register_forward_hook(function(_, _, out)
      acts[name] = loupe.is_tensor(out) and out:detach() or out
    end)
  end
  local ok, out = pcall(model, x, ...)
  for _, h in ipairs(handles) do h.remove() end
  if not ok then error(out, 0) end
  return out, acts
end
