-- test_nn.lua — loupe.nn (modules, containers, state dicts, hooks, layers, losses) and
-- loupe.models against torchvision.
--
-- Fixtures (generated once by tests/fixtures/gen_torch_models.py, see its header):
--   torch_models.txt         state_dict keys/dtypes/shapes and print(model) of torchvision's
--                            resnet18/34/50 and squeezenet1_1
--   tiny_resnet.safetensors  small torchvision-structured ResNets with random weights and
--                            BatchNorm statistics, their inputs, eval- and train-mode logits,
--                            gradients and updated statistics; SqueezeNet 1.1 logits with the
--                            real weights of datasets/weights
-- The inline repr strings below were printed by torch 1.13 / torchvision 0.14.
local loupe = require "loupe"
local T = require "testlib"
local nn, models = loupe.nn, loupe.models

local TINY = "tests/fixtures/tiny_resnet.safetensors"
local SQUEEZENET = "datasets/weights/squeezenet1_1.safetensors"

local tests = {}

-- sections of torch_models.txt: "keys resnet18" -> list of lines
local function models_fixture()
  local sections, cur = {}, nil
  for line in io.lines("tests/fixtures/torch_models.txt") do
    local kind, name = line:match("^== (%w+) ([%w_]+) ==$")
    if kind then
      cur = {}
      sections[kind .. " " .. name] = cur
    elseif cur then
      cur[#cur + 1] = line
    end
  end
  return sections
end

-- max |a - b| relative to max |b|: the scale-aware comparison for network outputs, whose
-- float32 rounding error grows with the size of the activations, not of each element
local function rel_close(a, b, tol, what)
  T.eq(table.concat(a:shape(), ","), table.concat(b:shape(), ","), what .. " shape")
  local err = (a - b):abs():max():item() / math.max(b:abs():max():item(), 1e-12)
  if not (err <= tol) then error(("%s: relative max error %g > %g"):format(what, err, tol), 2) end
end

-- the torchvision-sized models, built once for the read-only tests (construction with
-- initialisation is most of this file's run time)
local built = {}
local function shared_model(name)
  built[name] = built[name] or models[name]()
  return built[name]
end

-- a small network for the container tests
local function mlp()
  return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
end

-- ---- repr --------------------------------------------------------------------------------------

function tests.repr_layers_match_pytorch()
  local cases = {
    {nn.Linear(3, 4), "Linear(in_features=3, out_features=4, bias=True)"},
    {nn.Linear(3, 4, {bias = false}), "Linear(in_features=3, out_features=4, bias=False)"},
    {nn.Conv2d(3, 64, 7, {stride = 2, padding = 3, bias = false}),
     "Conv2d(3, 64, kernel_size=(7, 7), stride=(2, 2), padding=(3, 3), bias=False)"},
    {nn.Conv2d(4, 8, 3, {groups = 2, dilation = 2}),
     "Conv2d(4, 8, kernel_size=(3, 3), stride=(1, 1), dilation=(2, 2), groups=2)"},
    {nn.BatchNorm2d(64), "BatchNorm2d(64, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)"},
    {nn.BatchNorm1d(10, {eps = 1e-3, momentum = 0.01, affine = false, track_running_stats = false}),
     "BatchNorm1d(10, eps=0.001, momentum=0.01, affine=False, track_running_stats=False)"},
    {nn.ReLU({inplace = true}), "ReLU(inplace=True)"},
    {nn.ReLU(), "ReLU()"},
    {nn.MaxPool2d(3, {stride = 2, padding = 1}),
     "MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)"},
    {nn.MaxPool2d(2), "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"},
    {nn.MaxPool2d(3, {stride = 2, ceil_mode = true}),
     "MaxPool2d(kernel_size=3, stride=2, padding=0, dilation=1, ceil_mode=True)"},
    {nn.AvgPool2d(2), "AvgPool2d(kernel_size=2, stride=2, padding=0)"},
    {nn.AvgPool2d(3, {stride = 2, padding = 1, ceil_mode = true, count_include_pad = false}),
     "AvgPool2d(kernel_size=3, stride=2, padding=1)"},
    {nn.AdaptiveAvgPool2d({1, 1}), "AdaptiveAvgPool2d(output_size=(1, 1))"},
    {nn.AdaptiveAvgPool2d(1), "AdaptiveAvgPool2d(output_size=1)"},
    {nn.AdaptiveMaxPool2d({2, 3}), "AdaptiveMaxPool2d(output_size=(2, 3))"},
    {nn.Dropout(0.5), "Dropout(p=0.5, inplace=False)"},
    {nn.Identity(), "Identity()"},
    {nn.CrossEntropyLoss(), "CrossEntropyLoss()"},
    {nn.MSELoss(), "MSELoss()"},
    {nn.Sequential(), "Sequential()"},
    {nn.ModuleList{nn.ReLU(), nn.ReLU()}, "ModuleList(\n  (0): ReLU()\n  (1): ReLU()\n)"},
    -- loupe's own: 1-based dims, the bilinear layer of BILINEAR_SPEC
    {nn.Flatten(), "Flatten(start_dim=2, end_dim=-1)"},
    {nn.Bilinear(784, 512), "Bilinear(in_features=784, out_features=512, bias=False)"},
  }
  for _, c in ipairs(cases) do
    T.eq(tostring(c[1]), c[2])
    T.eq(c[1]:to_string(), c[2])
  end
end

function tests.repr_resnet18_excerpt()
  local expected = [[
Sequential(
  (0): BasicBlock(
    (conv1): Conv2d(64, 128, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)
    (bn1): BatchNorm2d(128, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
    (relu): ReLU(inplace=True)
    (conv2): Conv2d(128, 128, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
    (bn2): BatchNorm2d(128, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
    (downsample): Sequential(
      (0): Conv2d(64, 128, kernel_size=(1, 1), stride=(2, 2), bias=False)
      (1): BatchNorm2d(128, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
    )
  )
  (1): BasicBlock(
    (conv1): Conv2d(128, 128, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
    (bn1): BatchNorm2d(128, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
    (relu): ReLU(inplace=True)
    (conv2): Conv2d(128, 128, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
    (bn2): BatchNorm2d(128, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
  )
)]]
  T.eq(tostring(shared_model("resnet18").layer2), expected)
end

function tests.repr_whole_models_match_torchvision()
  local fx = models_fixture()
  for _, name in ipairs({"resnet18", "resnet34", "resnet50", "squeezenet1_1"}) do
    T.eq(tostring(shared_model(name)), table.concat(fx["repr " .. name], "\n"), name)
  end
end

-- ---- state_dict keys ---------------------------------------------------------------------------

function tests.state_dict_keys_dtypes_shapes_match_torchvision()
  local fx = models_fixture()
  local dtype = {float32 = "F32", int64 = "I64"}
  for _, name in ipairs({"resnet18", "resnet34", "resnet50", "squeezenet1_1"}) do
    local m = shared_model(name)
    local sd, keys = m:state_dict(), m:state_dict_keys()
    local got, n = {}, 0
    for i, k in ipairs(keys) do
      local shape = table.concat(sd[k]:shape(), ",")
      got[i] = ("%s %s %s"):format(k, dtype[sd[k]:dtype()], shape == "" and "-" or shape)
    end
    for _ in pairs(sd) do n = n + 1 end
    T.eq(n, #keys, name .. ": map and key list agree")
    local expected = fx["keys " .. name]
    T.eq(#got, #expected, name .. ": number of entries")
    for i = 1, #got do T.eq(got[i], expected[i], name .. " entry " .. i) end
  end
end

function tests.parameter_counts()
  T.eq(shared_model("resnet18"):num_parameters(), 11689512)
  T.eq(shared_model("resnet50"):num_parameters(), 25557032)
  T.eq(shared_model("squeezenet1_1"):num_parameters(), 1235496)
  T.eq(models.resnet18({num_classes = 10}).fc.weight:size(1), 10)
end

-- ---- module API --------------------------------------------------------------------------------

function tests.parameters_in_registration_order_deduplicated()
  local shared = nn.Linear(2, 2)
  local m = nn.Sequential(shared, nn.ReLU(), shared, nn.Linear(2, 1, {bias = false}))
  local names = {}
  for i, np in ipairs(m:named_parameters()) do names[i] = np[1] end
  T.eq(table.concat(names, " "), "0.weight 0.bias 3.weight")
  local ps = m:parameters()
  T.eq(#ps, 3)
  T.truthy(rawequal(ps[1], shared.weight) and rawequal(ps[3], m[4].weight))
  -- state_dict, like PyTorch, keeps every key of a shared module
  T.eq(table.concat(m:state_dict_keys(), " "), "0.weight 0.bias 2.weight 2.bias 3.weight")
  -- named_modules / children visit a shared module once
  T.eq(#m:children(), 3)
  local mods = {}
  for i, nm in ipairs(m:named_modules()) do mods[i] = nm[1] end
  T.eq(table.concat(mods, " ", 2), "0 1 3")
  T.eq(mods[1], "")
end

function tests.buffers_and_batchnorm_state()
  local bn = nn.BatchNorm2d(3)
  local names = {}
  for i, nb in ipairs(bn:named_buffers()) do names[i] = nb[1] end
  T.eq(table.concat(names, " "), "running_mean running_var num_batches_tracked")
  T.eq(bn.num_batches_tracked:dtype(), "int64")
  T.eq(bn.num_batches_tracked:dim(), 0)
  T.eq(#bn:buffers(), 3)
  T.eq(#bn:parameters(), 2)
  local plain = nn.BatchNorm1d(3, {affine = false, track_running_stats = false})
  T.eq(#plain:parameters(), 0)
  T.eq(#plain:buffers(), 0)
  T.eq(plain.weight, nil)
end

function tests.children_and_named_children()
  local m = shared_model("resnet18")
  local names = {}
  for i, nc in ipairs(m:named_children()) do names[i] = nc[1] end
  T.eq(table.concat(names, " "), "conv1 bn1 relu maxpool layer1 layer2 layer3 layer4 avgpool fc")
  T.truthy(rawequal(m:children()[10], m.fc))
  T.eq(#m:named_modules(), 68)
  T.truthy(rawequal(m:get("layer2.1.conv1"), m.layer2[2].conv1))
  T.truthy(rawequal(m:get(""), m))
  T.raises(function() m:get("layer2.7.conv1") end, "no submodule '7' in ResNet.layer2 (its children: 0, 1)")
end

function tests.field_assignment_registers_children()
  local m = models.resnet18({num_classes = 10})
  local head = nn.Sequential(nn.Dropout(0.2), nn.Linear(512, 4))
  m.fc = head
  T.truthy(rawequal(m.fc, head))
  local names = {}
  for i, nc in ipairs(m:named_children()) do names[i] = nc[1] end
  T.eq(names[#names], "fc", "replaced in place, order kept")
  local sd = m:state_dict()
  T.truthy(sd["fc.1.weight"] ~= nil and sd["fc.weight"] == nil)
  -- a new child appends; nil removes; a plain value cannot replace a child
  m.extra = nn.Identity()
  T.eq(m:named_children()[11][1], "extra")
  m.extra = nil
  T.eq(#m:children(), 10)
  T.raises(function() m.fc = 3 end, "cannot assign a number to child module 'fc'")
  -- plain fields stay plain
  m.note = "hello"
  T.eq(m.note, "hello")
  T.eq(#m:children(), 10)
end

function tests.sequential_indexing_is_1_based_names_0_based()
  local a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
  local s = nn.Sequential(a, b, c)
  T.eq(#s, 3)
  T.truthy(rawequal(s[1], a) and rawequal(s[3], c))
  T.eq(s[4], nil)
  local names = {}
  for i, nc in ipairs(s:named_children()) do names[i] = nc[1] end
  T.eq(table.concat(names, ","), "0,1,2")
  local n = 0
  for i, m in ipairs(s) do n = n + 1; T.truthy(rawequal(m, s[i])) end
  T.eq(n, 3)
  local d = nn.Identity()
  s[2] = d
  T.truthy(rawequal(s[2], d))
  T.eq(s:named_children()[2][1], "1")
  s:append(nn.Sigmoid())
  T.eq(s:named_children()[4][1], "3")
  T.raises(function() s[9] = nn.ReLU() end, "Sequential: cannot assign ReLU to position 9 (4 children)")
  local named = nn.Sequential({{"conv", nn.Conv2d(1, 2, 3)}, {"act", nn.ReLU()}})
  T.truthy(named.conv ~= nil and rawequal(named[2], named.act))
  T.raises(function() nn.Sequential(nn.ReLU(), 3) end, "Sequential: argument 2 is a number, not a Module")
  local ml = nn.ModuleList{nn.Linear(2, 2), nn.Linear(2, 2)}
  T.eq(#ml:parameters(), 4)
  T.eq(#ml, 2)
  T.raises(function() ml(loupe.zeros(2)) end, "ModuleList has no forward: a module class defines forward")
end

function tests.truncate_reproduces_sequential_of_children()
  local m = shared_model("resnet18")
  local body = m:truncate(6)
  local same = nn.Sequential(table.unpack(m:children(), 1, 6))
  T.eq(tostring(body), tostring(same))
  T.eq(#body, 6)
  T.truthy(rawequal(body[5], m.layer1) and rawequal(body[6], m.layer2))
  local keys = body:state_dict_keys()
  T.eq(keys[1], "0.weight")
  T.eq(keys[#keys], "5.1.bn2.num_batches_tracked")
  T.raises(function() m:truncate(11) end, "truncate: expected an integer in [0, 10]")
end

function tests.train_eval_flags_recurse()
  local m = models.squeezenet1_1()
  T.eq(m.training, true)
  m:eval()
  for _, mod in ipairs(m:modules()) do T.eq(mod.training, false) end
  m:train()
  T.eq(m.classifier[1].training, true)
  m:train(false)
  T.eq(m.features[4].squeeze.training, false)
end

function tests.unknown_options_and_bad_sizes_are_errors()
  T.raises(function() nn.Conv2d(3, 8, 3, {strid = 2}) end, "Conv2d: unknown option 'strid'")
  T.raises(function() nn.Conv2d(3, 8, 3, {groups = 2}) end, "must be divisible by groups (2)")
  T.raises(function() nn.Linear(0, 3) end, "Linear: in_features must be an integer >= 1, got 0")
  T.raises(function() nn.Conv2d(3, 8, {3}) end, "kernel_size must be an integer >= 1 or a pair")
  T.raises(function() nn.Dropout(1.5) end, "Dropout: probability has to be between 0 and 1")
  T.raises(function() nn.CrossEntropyLoss({reduction = "avg"}) end, "reduction must be 'mean', 'sum' or 'none'")
  T.raises(function() models.resnet18({stem = "tiny"}) end, "stem must be 'imagenet' or 'cifar'")
  T.raises(function() nn.Module()(1) end, "Module has no forward: a module class defines forward")
  T.raises(function() nn.BatchNorm2d(3)(loupe.zeros(3, 4, 4)) end, "BatchNorm2d: expected 4D input (got 3D input)")
end

-- ---- state dicts ----------------------------------------------------------------------------------

function tests.state_dict_round_trip_copies_in_place()
  loupe.manual_seed(1)
  local a, b = mlp(), mlp()
  local w_before = b[1].weight
  local missing, unexpected = b:load_state_dict(a:state_dict())
  T.eq(#missing + #unexpected, 0)
  T.truthy(rawequal(b[1].weight, w_before), "same tensor object, values copied")
  T.truthy(b[1].weight:equal(a[1].weight))
  T.truthy(b[1].weight.requires_grad and b[1].weight:is_leaf())
  -- state_dict tensors share memory and carry no graph
  local sd = a:state_dict()
  T.eq(sd["0.weight"].requires_grad, false)
  loupe.no_grad(function() sd["2.bias"]:fill_(7) end)
  T.eq(a[3].bias[1]:item(), 7)
  -- through a file, with the int64 counter
  local bn = nn.BatchNorm1d(4)
  loupe.no_grad(function() bn.running_mean:fill_(0.5); bn.num_batches_tracked:fill_(12) end)
  local path = os.tmpname()
  loupe.save(path, bn:state_dict())
  local bn2 = nn.BatchNorm1d(4)
  bn2:load_state_dict((loupe.load(path)))
  os.remove(path)
  T.eq(bn2.num_batches_tracked:item(), 12)
  T.eq(bn2.num_batches_tracked:dtype(), "int64")
  T.close(bn2.running_mean, loupe.full({4}, 0.5))
end

function tests.load_state_dict_errors_name_keys()
  local m = mlp()
  local sd = m:state_dict()
  local partial = {["0.weight"] = sd["0.weight"], ["0.bias"] = sd["0.bias"], ["9.weight"] = loupe.zeros(1)}
  T.raises(function() m:load_state_dict(partial) end,
    'Missing key(s) in state_dict: "2.weight", "2.bias"')
  T.raises(function() m:load_state_dict(partial) end, 'Unexpected key(s) in state_dict: "9.weight"')
  T.raises(function() m:load_state_dict(partial) end, "error(s) loading state_dict for Sequential")
  -- not strict: loads what is there, reports the rest
  local before = m[3].weight:clone()
  loupe.no_grad(function() partial["0.bias"] = loupe.full({8}, 3) end)
  local missing, unexpected = m:load_state_dict(partial, {strict = false})
  T.eq(table.concat(missing, ","), "2.weight,2.bias")
  T.eq(table.concat(unexpected, ","), "9.weight")
  T.eq(m[1].bias[8]:item(), 3)
  T.truthy(m[3].weight:equal(before))
  -- a shape mismatch is always an error, naming the key and both shapes; nothing is copied
  local bad = m:state_dict()
  bad["0.bias"] = loupe.zeros(8)
  bad["2.weight"] = loupe.zeros(10, 8)
  for _, strict in ipairs({true, false}) do
    T.raises(function() m:load_state_dict(bad, {strict = strict}) end,
      "size mismatch for 2.weight: copying a param with shape [10,8] from checkpoint, " ..
      "the shape in current model is [3,8]")
  end
  T.eq(m[1].bias[8]:item(), 3, "nothing copied when a check fails")
  T.raises(function() m:load_state_dict({["0.weight"] = "x"}, {strict = false}) end,
    "value for 0.weight is a string, not a tensor")
end

function tests.squeezenet_real_weights_load_strict()
  local m = models.squeezenet1_1()
  local sd = loupe.load(SQUEEZENET)
  local missing, unexpected = m:load_state_dict(sd)
  T.eq(#missing + #unexpected, 0)
  T.truthy(m.features[4].expand3x3.weight:equal(sd["features.3.expand3x3.weight"]))
  T.truthy(m.classifier[2].bias:equal(sd["classifier.1.bias"]))
end

function tests.squeezenet_real_weights_match_torchvision()
  local m = models.squeezenet1_1():eval()
  m:load_state_dict(loupe.load(SQUEEZENET))
  local fx = loupe.load(TINY)
  local logits = loupe.no_grad(function() return m(fx["squeezenet.input"]) end)
  rel_close(logits, fx["squeezenet.logits"], 1e-4, "squeezenet1_1 logits")
  T.eq(logits:argmax(2):item(), fx["squeezenet.logits"]:argmax(2):item())
end

-- ---- hooks, capture, freezing ---------------------------------------------------------------------

function tests.forward_hooks_see_and_replace_outputs()
  local m = mlp()
  local x = loupe.randn(5, 4)
  local seen = {}
  local h1 = m[2]:register_forward_hook(function(mod, input, output)
    seen[#seen + 1] = {mod, input, output}
  end)
  local y = m(x)
  T.eq(#seen, 1)
  T.truthy(rawequal(seen[1][1], m[2]))
  T.close(seen[1][3], m[1](x):relu())
  T.close(seen[1][2], m[1](x))
  -- a hook returning a value replaces the output
  local h2 = m[2]:register_forward_hook(function(_, _, out) return out * 0 end)
  T.close(m(x), m[3].bias:expand(5, 3))
  h2:remove()
  T.close(m(x), y)
  h1:remove()
  h1:remove() -- idempotent
  m(x)
  T.eq(#seen, 3)
  T.raises(function() m:register_forward_hook(3) end, "register_forward_hook: expected a function")
end

function tests.capture_returns_detached_activations()
  local m = models.resnet18({num_classes = 10, small_input = true, layers = {1, 1, 1, 1}, width = 8})
  local x = loupe.randn(2, 3, 16, 16)
  local out, acts = nn.capture(m, {"layer2.0.conv1", "avgpool", "layer1"}, x)
  T.eq(table.concat(out:shape(), ","), "2,10")
  T.eq(table.concat(acts["layer2.0.conv1"]:shape(), ","), "2,16,8,8")
  T.eq(table.concat(acts.avgpool:shape(), ","), "2,64,1,1")
  T.eq(acts.layer1.requires_grad, false)
  T.eq(acts.layer1:grad_fn(), nil)
  T.truthy(out.requires_grad, "the model's output keeps its graph")
  -- the hooks are gone: a hook-counting wrapper sees only its own
  T.eq(#m.avgpool._forward_hooks, 0)
  T.close(acts.avgpool:flatten(2), loupe.no_grad(function()
    return m:truncate(9)(x):flatten(2)
  end), 1e-5)
  T.raises(function() nn.capture(m, {"layer1", "layer9"}, x) end, "capture: no submodule 'layer9' in ResNet")
  T.eq(#m.layer1._forward_hooks, 0)
  -- a failing forward still removes the hooks
  T.raises(function() nn.capture(m, {"layer1"}, loupe.randn(2, 5, 16, 16)) end, "conv2d: input has 5 channels")
  T.eq(#m.layer1._forward_hooks, 0)
end

function tests.freezing_stops_gradients()
  local m = mlp()
  m[1]:requires_grad_(false)
  local x = loupe.randn(6, 4)
  m(x):sum():backward()
  T.eq(m[1].weight.grad, nil)
  T.truthy(m[3].weight.grad ~= nil)
  m:zero_grad()
  T.eq(m[3].weight.grad, nil)
  m:requires_grad_()
  m(x):sum():backward()
  T.truthy(m[1].weight.grad ~= nil)
end

-- ---- train / eval behaviour -----------------------------------------------------------------------

function tests.batchnorm_train_uses_batch_stats_eval_running_stats()
  local bn = nn.BatchNorm2d(2)
  local x = loupe.randn(4, 2, 3, 3) * 3 + 1
  local y = bn(x)
  T.eq(bn.num_batches_tracked:item(), 1)
  -- batch statistics: each channel normalised to mean 0, (biased) variance 1
  T.close(y:mean():item(), 0, 1e-5)
  local per = y:transpose(1, 2):reshape(2, -1)
  T.close(per:var(2, false, false), loupe.ones(2), 1e-3)
  -- running stats moved by momentum 0.1 towards the batch's (unbiased variance)
  local xc = x:transpose(1, 2):reshape(2, -1)
  T.close(bn.running_mean, xc:mean(2) * 0.1, 1e-5)
  T.close(bn.running_var, xc:var(2) * 0.1 + 0.9, 1e-4)
  bn:eval()
  local ye = bn(x)
  T.eq(bn.num_batches_tracked:item(), 1, "no update in eval mode")
  local rm = bn.running_mean:view(1, 2, 1, 1)
  local rv = bn.running_var:view(1, 2, 1, 1)
  T.close(ye, (x - rm) / (rv + 1e-5):sqrt(), 1e-4)
  -- without running statistics the batch statistics are used in eval mode too
  local free = nn.BatchNorm2d(2, {track_running_stats = false}):eval()
  T.close(free(x):mean():item(), 0, 1e-5)
end

function tests.dropout_train_and_eval()
  local d = nn.Dropout(0.5)
  local x = loupe.ones(1000)
  local y = d(x)
  local zeros = y:eq(0):float():sum():item()
  T.truthy(zeros > 400 and zeros < 600, "about half dropped: " .. zeros)
  T.close(y:max():item(), 2)
  d:eval()
  T.truthy(d(x):equal(x))
end

-- ---- layers ------------------------------------------------------------------------------------------

function tests.linear_forward_and_default_init()
  loupe.manual_seed(3)
  local m = nn.Linear(100, 20)
  local bound = 1 / math.sqrt(100)
  T.truthy(m.weight:abs():max():item() <= bound and m.bias:abs():max():item() <= bound)
  T.truthy(m.weight:abs():max():item() > 0.9 * bound, "uses the whole range")
  T.truthy(m.weight.requires_grad and m.weight:is_leaf())
  local x = loupe.randn(7, 100)
  T.close(m(x), x:matmul(m.weight:t()) + m.bias, 1e-5)
  loupe.manual_seed(3)
  T.truthy(nn.Linear(100, 20).weight:equal(m.weight), "seeded")
end

function tests.bilinear_layer_is_product_of_halves()
  local m = nn.Bilinear(6, 4, {bias = true})
  T.eq(table.concat(m.weight:shape(), ","), "8,6")
  T.eq(table.concat(m.bias:shape(), ","), "8")
  local bound = 1 / math.sqrt(6)
  T.truthy(m.weight:abs():max():item() <= bound)
  local x = loupe.randn(5, 6)
  local l = x:matmul(m:left_weight():t()) + m.bias:narrow(1, 1, 4)
  local r = x:matmul(m:right_weight():t()) + m.bias:narrow(1, 5, 4)
  T.close(m(x), l * r, 1e-5)
  T.eq(#nn.Bilinear(6, 4):parameters(), 1, "no bias by default")
end

function tests.conv2d_accepts_single_images()
  local c = nn.Conv2d(3, 5, 3, {padding = 1})
  local x = loupe.randn(3, 8, 8)
  local y = c(x)
  T.eq(table.concat(y:shape(), ","), "5,8,8")
  T.close(y, c(x:unsqueeze(1)):squeeze(1))
  local bound = 1 / math.sqrt(27)
  T.truthy(c.weight:abs():max():item() <= bound and c.bias:abs():max():item() <= bound)
  local p = nn.MaxPool2d(2)
  T.eq(table.concat(p(x):shape(), ","), "3,4,4")
end

function tests.init_helpers()
  loupe.manual_seed(5)
  local w = nn.init.parameter({256, 128, 3, 3})
  nn.init.kaiming_normal_(w, {mode = "fan_out", nonlinearity = "relu"})
  T.close(w:std():item(), math.sqrt(2 / (256 * 9)), 0.02)
  nn.init.kaiming_uniform_(w)
  T.close(w:abs():max():item(), math.sqrt(6 / (128 * 9)), 0.01)
  nn.init.xavier_uniform_(w, 2)
  T.truthy(w:abs():max():item() <= 2 * math.sqrt(6 / (128 * 9 + 256 * 9)))
  nn.init.normal_(w, 1, 0.5)
  T.close(w:mean():item(), 1, 0.01)
  nn.init.uniform_(w, -3, -2)
  T.truthy(w:max():item() <= -2 and w:min():item() >= -3)
  nn.init.constant_(w, 0.25)
  T.eq(w:sum():item(), 0.25 * w:numel())
  nn.init.zeros_(w)
  nn.init.ones_(w)
  T.eq(w:mean():item(), 1)
  T.truthy(w.requires_grad and w:is_leaf(), "filled in place, still a leaf")
  T.raises(function() nn.init.kaiming_normal_(loupe.zeros(3)) end, "at least 2 dimensions")
end

-- ---- losses ------------------------------------------------------------------------------------------

function tests.loss_modules_call_functional()
  local F = loupe.functional
  local logits = loupe.randn(6, 4)
  local target = loupe.tensor({1, 4, 2, 2, 3, 1}, "int64")
  T.close(nn.CrossEntropyLoss()(logits, target), F.cross_entropy(logits, target))
  local opts = {reduction = "sum", label_smoothing = 0.1, weight = loupe.rand(4)}
  T.close(nn.CrossEntropyLoss(opts)(logits, target), F.cross_entropy(logits, target, opts))
  local logp = logits:log_softmax(2)
  T.close(nn.NLLLoss()(logp, target), F.nll_loss(logp, target))
  T.close(nn.NLLLoss()(logp, target), nn.CrossEntropyLoss()(logits, target), 1e-5)
  local a, b = loupe.randn(3, 5), loupe.randn(3, 5)
  T.close(nn.MSELoss({reduction = "none"})(a, b), (a - b):square())
  local y = loupe.rand(3, 5)
  T.close(nn.BCEWithLogitsLoss()(a, y), F.binary_cross_entropy_with_logits(a, y))
  T.eq(#nn.CrossEntropyLoss({weight = loupe.ones(4)}):buffers(), 1)
end

function tests.accuracy()
  local logits = loupe.tensor({{0.1, 2, 0}, {3, 0, 1}, {0, 0, 5}, {1, 2, 0}})
  T.close(nn.accuracy(logits, loupe.tensor({2, 1, 3, 1}, "int64")), 0.75)
  T.raises(function() nn.accuracy(logits, loupe.tensor({1, 2}, "int64")) end,
    "accuracy: expected target [4] of class labels, got [2]")
end

-- ---- architectures ---------------------------------------------------------------------------------

function tests.resnet_options_keep_key_names()
  local m = models.resnet18({num_classes = 10, in_channels = 1, small_input = true})
  T.eq(table.concat(m.conv1.weight:shape(), ","), "64,1,3,3")
  T.eq(tostring(m.maxpool), "Identity()")
  T.eq(table.concat(m:state_dict_keys(), " "), table.concat(shared_model("resnet18"):state_dict_keys(), " "))
  local c = models.resnet34({stem = "cifar", layers = {1, 1, 1, 1}})
  T.eq(tostring(c.conv1), "Conv2d(3, 64, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)")
  T.eq(#c.layer3, 1)
  -- torchvision's initialisation
  local r = shared_model("resnet50")
  T.close(r.layer3[1].conv2.weight:std():item(), math.sqrt(2 / (256 * 9)), 0.02)
  T.eq(r.layer1[1].bn3.weight:mean():item(), 1)
  T.eq(r.layer1[1].bn3.bias:abs():max():item(), 0)
  local s = models.squeezenet1_1({num_classes = 7})
  T.eq(s.classifier[2].bias:abs():max():item(), 0)
  T.close(s.classifier[2].weight:std():item(), 0.01, 0.1)
end

-- The tiny torchvision-structured ResNets of the fixture: eval- and train-mode logits, input
-- and parameter gradients, and the BatchNorm statistics after one training-mode forward.
local function tiny_parity(prefix, model)
  local fx = loupe.load(TINY)
  local sd = {}
  for k, v in pairs(fx) do
    -- state_dict keys all contain a dot; the extras (input, logits_eval, ...) do not
    local key = k:match("^" .. prefix .. "%.(.*)$")
    if key and key:find(".", 1, true) then sd[key] = v end
  end
  model:load_state_dict(sd)
  model:eval()
  local x = fx[prefix .. ".input"]
  rel_close(loupe.no_grad(function() return model(x) end), fx[prefix .. ".logits_eval"], 1e-4, prefix .. " eval logits")
  model:train()
  local xg = x:clone():requires_grad_()
  local logits = model(xg)
  rel_close(logits:detach(), fx[prefix .. ".logits_train"], 1e-4, prefix .. " train logits")
  ;(logits * fx[prefix .. ".w"]):sum():backward()
  rel_close(xg.grad, fx[prefix .. ".grad_input"], 1e-4, prefix .. " input gradient")
  rel_close(model.conv1.weight.grad, fx[prefix .. ".grad_conv1"], 1e-4, prefix .. " conv1 gradient")
  rel_close(model.fc.weight.grad, fx[prefix .. ".grad_fc"], 1e-4, prefix .. " fc gradient")
  T.close(model.bn1.running_mean, fx[prefix .. ".running_mean_after"], 1e-4, prefix .. " running_mean")
  T.close(model.bn1.running_var, fx[prefix .. ".running_var_after"], 1e-4, prefix .. " running_var")
  T.eq(model.bn1.num_batches_tracked:item(), fx[prefix .. ".num_batches_tracked_after"]:item())
end

function tests.tiny_resnet_basic_matches_torchvision()
  tiny_parity("basic", models.resnet18({num_classes = 10, layers = {1, 1, 1, 1}, width = 8}))
end

function tests.tiny_resnet_bottleneck_matches_torchvision()
  tiny_parity("bottleneck", models.resnet50({num_classes = 10, layers = {1, 1, 1, 1}, width = 4}))
end

function tests.tiny_resnet_cifar_stem_matches_torchvision()
  tiny_parity("cifar", models.resnet18({num_classes = 10, layers = {1, 1, 1, 1}, width = 4,
                                        in_channels = 1, small_input = true}))
end

function tests.fastai_head_structure_and_forward()
  local head = models.heads.fastai_head(512, 10)
  local expected = [[
Sequential(
  (0): AdaptiveConcatPool2d(
    (ap): AdaptiveAvgPool2d(output_size=1)
    (mp): AdaptiveMaxPool2d(output_size=1)
  )
  (1): Flatten(start_dim=2, end_dim=-1)
  (2): BatchNorm1d(1024, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
  (3): Dropout(p=0.25, inplace=False)
  (4): Linear(in_features=1024, out_features=512, bias=False)
  (5): ReLU(inplace=True)
  (6): BatchNorm1d(512, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
  (7): Dropout(p=0.5, inplace=False)
  (8): Linear(in_features=512, out_features=10, bias=False)
)]]
  T.eq(tostring(head), expected)
  T.close(head[3].bias, loupe.full({1024}, 1e-3))
  local x = loupe.randn(3, 512, 4, 4)
  -- max pool first, then average pool, as fastai's AdaptiveConcatPool2d
  local pooled = head[1](x):flatten(2)
  T.close(pooled:narrow(2, 1, 512), x:flatten(3):max(3), 1e-6)
  T.close(pooled:narrow(2, 513, 512), x:flatten(3):mean(3), 1e-5)
  T.eq(table.concat(head(x):shape(), ","), "3,10")
  -- on a truncated backbone, as the seeds do
  local body = models.resnet18({small_input = true, layers = {1, 1, 1, 1}, width = 8}):truncate(8)
  local net = nn.Sequential(body, models.heads.fastai_head(64, 2, {ps = {0.1, 0.2}, lin_bias = true}))
  T.eq(net[2][5].bias ~= nil, true)
  T.eq(table.concat(net(loupe.randn(2, 3, 16, 16)):shape(), ","), "2,2")
end

return tests
