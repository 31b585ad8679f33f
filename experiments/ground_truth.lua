-- ground_truth.lua — does the eigendecomposition recover a rule we planted? (the similarity
-- task of ../shared/peers/BILINEAR_SPEC.md §6-7). MNIST is relabelled "similar" when an
-- image's cosine similarity to a target training image, or to its inverse 1 - target,
-- exceeds 0.4, and "different" otherwise. A bilinear MLP with biases (d_hidden 64) learns the
-- rule; the bias-augmented interaction matrix of the "similar" class is eigendecomposed, and
-- its top eigenvector should look like the target.
--
--   ./loupe experiments/ground_truth.lua              100 epochs, target = training image 7
--   ./loupe experiments/ground_truth.lua --quick      a few epochs
--
-- The bias-augmented form appends a constant 1 to the hidden vector z (spec §7), so
-- z'^T Q' z' = logit + 1 and the decomposition sees the biases. Its top eigenvector may be
-- dominated by that constant coordinate; the "pattern" component is the one of largest
-- eigenvalue whose weight on it, v[H+1]^2, is below 1/2. Both are reported. The linear term
-- of the quadratic form, 2 W_e^T Q'[1:H, H+1], is the bias's effect in pixel space.
-- Writes target.png (target, inverse, top and pattern eigenvectors, linear term),
-- spectrum.png (the "similar" class), training.png and metrics.json.
local loupe = require "loupe"
local plot = loupe.plot

local ex = loupe.experiment.new("ground_truth", {
  options = {epochs = 100, d_hidden = 64, wd = 1.0, lr = 1e-3, batch_size = 2048, noise = 0.1,
             seed = 42, target = 7, threshold = 0.4, k = 4},
  quick = {epochs = 4},
})

-- Cosine similarity of each row of x [N, D] with v [D].
local function cosines(x, v)
  return x:matmul(v) / (x:norm(2, 2) * v:norm()):clamp(1e-8, nil)
end

-- Relabels ds in place: 2 ("similar") where cos(x, t) or cos(x, 1 - t) exceeds the threshold,
-- else 1 ("different").
local function relabel(ds, t, threshold)
  local x = ds.x:reshape(#ds, -1):float() / 255
  ds.y = (cosines(x, t):maximum(cosines(x, 1 - t)):gt(threshold):float() + 1):long()
  ds.classes = {"different", "similar"}
end

local function abs_cos(a, b)
  return math.abs((a:dot(b) / (a:norm() * b:norm())):item())
end

ex:run(function()
  local o = ex.opts
  local train = loupe.data.mnist{split = "train"}
  local test = loupe.data.mnist{split = "test"}
  if o.target < 1 or o.target > #train then
    error(("ground_truth: --target must be a training image index in 1..%d, got %d"):format(#train, o.target), 0)
  end
  local t = train.x[o.target]:reshape(-1):float() / 255
  local digit = train.classes[train.y[o.target]:item()]
  relabel(train, t, o.threshold)
  relabel(test, t, o.threshold)
  local share = train.y:eq(2):float():mean():item()
  ex:log(("target: training image %d (a %s); %.1f%% of the training images are similar"):format(
    o.target, digit, 100 * share))
  ex:metric("target_digit", digit)
  ex:metric("similar_share_train", share)
  ex:metric("similar_share_test", test.y:eq(2):float():mean():item())

  local D = 784
  local model = loupe.models.bilinear_mlp{d_input = D, d_hidden = o.d_hidden, d_output = 2,
                                          bias = true, seed = o.seed, wd = o.wd, lr = o.lr,
                                          batch_size = o.batch_size, epochs = o.epochs}
  local t0 = loupe.clock()
  local history = model:fit(train, test, loupe.transforms.gaussian_noise{mean = 0, std = o.noise, p = 1})
  local train_seconds = loupe.clock() - t0
  local last = history[#history]

  -- the "similar" class in the bias-augmented form: vals [H+1], vecs [H+1, D+1]
  local vals, vecs = model:decompose{bias = true}
  vals, vecs = vals[2], vecs[2]
  local H1 = vals:size(1)
  local bias_weight = vecs:select(2, D + 1):pow(2) -- v[H+1]^2 of each component
  local pattern = H1
  while pattern > 1 and bias_weight[pattern]:item() >= 0.5 do pattern = pattern - 1 end
  local pixels = vecs:narrow(2, 1, D)
  local top, pat = pixels[H1], pixels[pattern]
  local Q = model:interaction_matrices{bias = true}[2]
  local linear = loupe.no_grad(function()
    return model.w_e:t():matmul(Q:narrow(1, 1, H1 - 1):select(2, H1)) * 2
  end)

  local m = {
    val_acc = last["val/acc"], val_loss = last["val/loss"], train_acc = last["train/acc"],
    epochs = #history, train_seconds = train_seconds,
    cos_top_target = abs_cos(top, t), cos_top_inverse = abs_cos(top, 1 - t),
    top_eigenvalue = vals[H1]:item(), top_bias_weight = bias_weight[H1]:item(),
    pattern_rank = H1 - pattern + 1, pattern_eigenvalue = vals[pattern]:item(),
    cos_pattern_target = abs_cos(pat, t), cos_pattern_inverse = abs_cos(pat, 1 - t),
    cos_linear_target = abs_cos(linear, t),
  }
  for _, k in ipairs{"val_acc", "val_loss", "train_acc", "epochs", "train_seconds", "cos_top_target",
                     "cos_top_inverse", "top_eigenvalue", "top_bias_weight", "pattern_rank",
                     "pattern_eigenvalue", "cos_pattern_target", "cos_pattern_inverse",
                     "cos_linear_target"} do
    ex:metric(k, m[k])
  end
  ex:log(("val acc %.4f; top eigenvector |cos| with the target %.3f, with its inverse %.3f"):format(
    m.val_acc, m.cos_top_target, m.cos_top_inverse))

  local labels = {"target (image " .. o.target .. ")", "1 - target",
                  ("top, |cos| %.2f"):format(m.cos_top_target),
                  ("pattern #%d, |cos| %.2f"):format(m.pattern_rank, m.cos_pattern_target),
                  "linear term"}
  ex:figure("target", plot.facets({t:view(28, 28), (1 - t):view(28, 28),
                                    top:view(28, 28), pat:view(28, 28), linear:view(28, 28)},
                                   {labels = labels, cols = 5, size = 160,
                                    title = ("similarity task: val acc %.3f"):format(m.val_acc)}))
  -- the spectrum without a top component that is mostly the constant coordinate (the seed
  -- plots vals[:-1] for that reason)
  local n = pattern == H1 and H1 or H1 - 1
  ex:figure("spectrum", plot.eigenspectrum(vals:narrow(1, 1, n), pixels:narrow(1, 1, n), {
    shape = {28, 28}, k = o.k,
    title = pattern == H1 and "class similar" or "class similar, top (constant) component left out"}))
  ex:figure("training", plot.history(history, {title = "similarity task: training"}))
end)
