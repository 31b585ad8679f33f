-- test_resnet_parity.lua — full-size ResNet-18 and ResNet-50 against torchvision.
--
-- The networks are too large to commit as fixtures, so tests/fixtures/check_resnet_parity.py
-- builds them with torchvision at test time (random weights and BatchNorm statistics),
-- writes their state_dicts, an input and the eval-mode logits to a temporary folder, and
-- loupe.models loads each state_dict strictly and must reproduce the logits to 1e-4 of
-- their largest magnitude. Where /usr/bin/python3 cannot import torch and torchvision the
-- test prints "SKIP resnet parity: python3-torch not available" and passes: the suite itself
-- needs no Python (tests/lua/test_nn.lua covers the same code on small committed fixtures).
local loupe = require "loupe"
local T = require "testlib"

local tests = {}

local function have_torch()
  return os.execute("/usr/bin/python3 -c 'import torch, torchvision' >/dev/null 2>&1") == true
end

function tests.resnet18_and_resnet50_match_torchvision()
  if not have_torch() then
    print("SKIP resnet parity: python3-torch not available")
    return
  end
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -p '" .. dir .. "'"))
  local ok, err = pcall(function()
    local cmd = "/usr/bin/python3 tests/fixtures/check_resnet_parity.py '" .. dir .. "' 2>&1"
    local p = io.popen(cmd)
    local out = p:read("a")
    T.truthy(p:close(), "check_resnet_parity.py failed:\n" .. out)
    for _, name in ipairs({"resnet18", "resnet50"}) do
      local model = loupe.models[name]()
      model:load_state_dict((loupe.load(dir .. "/" .. name .. ".safetensors")))
      model:eval()
      local io_ = loupe.load(dir .. "/" .. name .. "_io.safetensors")
      local logits = loupe.no_grad(function() return model(io_.input) end)
      local ref = io_.logits
      T.eq(table.concat(logits:shape(), ","), "1,1000", name)
      local rel = (logits - ref):abs():max():item() / ref:abs():max():item()
      if not (rel <= 1e-4) then error(("%s: relative max error %g > 1e-4"):format(name, rel)) end
      T.eq(logits:argmax(2):item(), ref:argmax(2):item(), name .. " top class")
    end
  end)
  os.execute("rm -rf '" .. dir .. "'")
  if not ok then error(err, 0) end
end

return tests
