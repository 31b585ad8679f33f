-- test_bilinear_mlp.lua — loupe.models.bilinear_mlp (BILINEAR_SPEC.md): structure and
-- initialisation, forward, the weight views, fit against PyTorch (full batch, so the shuffle
-- order does not matter), the decomposition against PyTorch and its exactness identities
-- (logit = sum_k lambda_k (p_k . x)^2, + 1 in the bias-augmented form), and errors.
local loupe = require "loupe"
local T = require "testlib"

local FIXTURE = "tests/fixtures/torch_bilinear.safetensors"
local D, H, C = 20, 8, 3

local function small(opts)
  local o = {d_input = D, d_hidden = H, d_output = C, bias = true, seed = 3}
  for k, v in pairs(opts or {}) do o[k] = v end
  return loupe.models.bilinear_mlp(o)
end

-- A model holding the fixture's parameters, and the fixture.
local function torch_model()
  local ref = loupe.load(FIXTURE)
  local m = small()
  m:load_state_dict({["embed.weight"] = ref["embed.weight"], ["blocks.0.weight"] = ref["blocks.0.weight"],
                     ["blocks.0.bias"] = ref["blocks.0.bias"], ["head.weight"] = ref["head.weight"]})
  return m, ref
end

-- Rows of a equal rows of b up to each row's sign.
local function close_up_to_sign(a, b, tol, what)
  local sign = (a * b):sum(a:dim()):sign():unsqueeze(a:dim())
  T.close(a * sign, b, tol, what)
end

local tests = {}

function tests.structure_and_names()
  local m = small()
  local names = {}
  for _, e in ipairs(m:named_parameters()) do names[#names + 1] = e[1] .. "=" .. table.concat(e[2]:shape(), "x") end
  T.eq(table.concat(names, " "), "embed.weight=8x20 blocks.0.weight=16x8 blocks.0.bias=16 head.weight=3x8")
  T.eq(#small{bias = false}:parameters(), 3)
  T.eq(#small{n_layer = 3}.blocks:children(), 3)
  T.truthy(tostring(m):find("d_input=20, d_hidden=8, d_output=3, n_layer=1, bias=True", 1, true), tostring(m))
end

function tests.seeded_initialisation()
  local a, b, c = small{seed = 5}, small{seed = 5}, small{seed = 6}
  T.truthy(a.w_e:equal(b.w_e) and a.blocks[1].weight:equal(b.blocks[1].weight) and a.w_u:equal(b.w_u))
  T.truthy(not a.w_e:equal(c.w_e))
  -- PyTorch's Linear init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in D for W_e, H for the rest
  local big = loupe.models.bilinear_mlp{d_input = 400, d_hidden = 100, d_output = 10, bias = true, seed = 1}
  T.close(big.w_e:abs():max():item(), 1 / math.sqrt(400), 0.02)
  T.close(big.blocks[1].weight:abs():max():item(), 1 / math.sqrt(100), 0.02)
  T.close(big.blocks[1].bias:abs():max():item(), 1 / math.sqrt(100), 0.1)
  T.close(big.w_u:abs():max():item(), 1 / math.sqrt(100), 0.1)
  T.close(big.w_e:mean():item(), 0, 0.01)
end

function tests.forward_matches_pytorch()
  local m, ref = torch_model()
  T.close(loupe.no_grad(function() return m(ref.x) end), ref.logits, 1e-5)
  -- any [N, ...] shape with D values per sample is flattened row-major
  T.close(loupe.no_grad(function() return m(ref.x:view(5, 4, 5)) end), ref.logits, 1e-5)
end

function tests.weight_views()
  local m = small()
  T.eq(table.concat(m.w_l:shape(), ","), "1,8,8")
  T.eq(table.concat(m.b_r:shape(), ","), "1,8")
  T.truthy(m.w_l[1]:equal(m.blocks[1].weight:narrow(1, 1, H)))
  T.truthy(m.w_r[1]:equal(m.blocks[1].weight:narrow(1, H + 1, H)))
  T.truthy(m.b_l[1]:equal(m.blocks[1].bias:narrow(1, 1, H)))
  loupe.no_grad(function() m.w_l[1]:fill_(0.5) end) -- a view: writes reach the parameter
  T.eq(m.blocks[1].weight[1][1]:item(), 0.5)
  T.eq(small{bias = false}.b_l, nil)
  T.eq(table.concat(small{n_layer = 2}.w_r:shape(), ","), "2,8,8")
  T.truthy(m.w_e == m.embed.weight and m.w_u == m.head.weight)
end

function tests.fit_matches_pytorch_full_batch()
  local m, ref = torch_model()
  local train = {x = ref["fit.train_x"], y = ref["fit.train_y"]}
  local val = {x = ref["fit.val_x"], y = ref["fit.val_y"]}
  local history = m:fit(train, val, {epochs = 4, lr = 1e-2, wd = 0.5, batch_size = 64, log = false})
  T.eq(#history, 4)
  local cols = {"train/loss", "train/acc", "val/loss", "val/acc"}
  for e = 1, 4 do
    for j, k in ipairs(cols) do
      T.close(history[e][k], ref["fit.history"][e][j]:item(), 2e-5, ("epoch %d %s"):format(e, k))
    end
    T.close(history[e].lr, 1e-2 * (1 + math.cos(math.pi * (e - 1) / 4)) / 2, 1e-9, "cosine lr")
  end
  local sd = m:state_dict()
  for _, name in ipairs{"embed.weight", "blocks.0.weight", "blocks.0.bias", "head.weight"} do
    T.close(sd[name], ref["fit." .. name], 2e-5, name)
  end
end

function tests.fit_uses_the_configuration_and_is_deterministic()
  loupe.manual_seed(0)
  local x, y = loupe.rand(300, D), loupe.randint(1, C + 1, {300})
  local function run()
    local m = small{epochs = 3, batch_size = 64, lr = 1e-2}
    local noise = loupe.transforms.gaussian_noise{std = 0.1, p = 1}
    return m:fit({x = x, y = y}, {x = x, y = y}, {augment = noise, log = false}), m
  end
  local h1, m1 = run()
  local h2, m2 = run()
  T.eq(#h1, 3) -- the configuration's epochs
  T.eq(h1[3]["train/loss"], h2[3]["train/loss"])
  T.truthy(m1.w_e:equal(m2.w_e), "same seed, same noise and order, same weights")
  T.close(h1[1].lr, 1e-2, 1e-12)
  -- augment may also be a function, or given among the options
  local calls = 0
  local m = small{epochs = 1, batch_size = 64}
  m:fit({x = x, y = y}, {x = x, y = y}, {log = false, augment = function(b) calls = calls + 1 return b end})
  T.eq(calls, 300 // 64, "drop_last: one call per full batch")
end

function tests.decompose_matches_pytorch()
  local m, ref = torch_model()
  local vals, vecs = m:decompose{bias = false}
  T.close(vals, ref["plain.vals"], 1e-5, "eigenvalues")
  close_up_to_sign(vecs, ref["plain.vecs"], 1e-4, "eigenvectors in input space")
  local avals, avecs = m:decompose() -- a model with biases: the augmented form by default
  T.eq(table.concat(avecs:shape(), ","), ("%d,%d,%d"):format(C, H + 1, D + 1))
  T.close(avals, ref["aug.vals"], 1e-5, "augmented eigenvalues")
  close_up_to_sign(avecs, ref["aug.vecs"], 1e-4, "augmented eigenvectors")
end

function tests.decompose_is_exact()
  local m = small{bias = false, d_input = 30, d_hidden = 12, d_output = 4, seed = 11}
  local x = loupe.rand(6, 30)
  local logits = loupe.no_grad(function() return m(x) end)
  local vals, vecs = m:decompose()
  T.truthy(vals[1]:narrow(1, 2, 11):ge(vals[1]:narrow(1, 1, 11)):float():min():item() == 1, "ascending")
  for c = 1, 4 do
    local proj = x:mm(vecs[c]:t()) -- [6, H]: p_k . x
    T.close((proj * proj * vals[c]):sum(2), logits[{{}, c}], 1e-4, "logit = sum lambda (p.x)^2")
  end
  -- bias-augmented: x' = [x, 1] gives logit + 1
  local mb = small{seed = 12}
  local xb = loupe.rand(6, D)
  local lb = loupe.no_grad(function() return mb(xb) end)
  local av, avec = mb:decompose()
  local x1 = loupe.cat({xb, loupe.ones(6, 1)}, 2)
  for c = 1, C do
    local proj = x1:mm(avec[c]:t())
    T.close((proj * proj * av[c]):sum(2), lb[{{}, c}] + 1, 1e-4, "augmented: logit + 1")
  end
  local Q = mb:interaction_matrices()
  T.truthy(Q:equal(Q:transpose(2, 3)), "symmetric")
  T.eq(Q.requires_grad, false)
end

function tests.errors()
  T.raises(function() loupe.models.bilinear_mlp{d_hiden = 3} end, "unknown option 'd_hiden'")
  T.raises(function() loupe.models.bilinear_mlp{d_hidden = 0} end, "d_hidden must be an integer >= 1")
  T.raises(function() loupe.models.bilinear_mlp{bias = 1} end, "bias must be true or false")
  T.raises(function() loupe.models.bilinear_mlp{wd = -1} end, "wd must be a finite number >= 0")
  local m = small()
  T.raises(function() m(loupe.rand(4, 21)) end, "expected a batch of 20 values per sample")
  T.raises(function() m(loupe.rand(20)) end, "expected a batch of 20 values per sample")
  T.raises(function() small{n_layer = 2}:decompose() end, "decompose: defined for one bilinear layer, this model has 2")
  T.raises(function() small{bias = false}:decompose{bias = true} end, "bias = true needs a model built with bias = true")
  T.raises(function() m:decompose{bais = true} end, "unknown option 'bais'")
  T.raises(function() m:fit({x = loupe.rand(8, D), y = loupe.ones(8):long()}, nil, {augment = 3}) end,
           "augment must be a transform or a function")
  T.raises(function() m:fit({x = loupe.rand(8, D), y = loupe.ones(8):long()}, nil, {epoch = 3}) end,
           "unknown option 'epoch'")
end

return tests
