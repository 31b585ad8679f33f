-- misuse_templates.lua — the "templates" group of misuse_battery.lua: for each C-backed function,
-- a call that works, given as a list of arguments (values, factories of fresh values, option
-- tables); the battery makes each slot bad in turn (an argument, an option, an entry of a list
-- such as {h, w}), so the later checks and the kernels see bad numbers, shapes and dtypes too.
--
--   local templates = dofile("tests/lua/misuse_templates.lua")   -- {{name, fn, args}, ...}
local loupe = require "loupe"

local nn, optim = loupe.nn, loupe.optim
local devnull = assert(io.open("/dev/null", "w"))
local F, P, TF, B, D, S, O = loupe.functional, loupe._plot, loupe._tf, loupe._batch,
                             loupe._data, loupe._stimuli, loupe._optim
-- factories: float32 uniform, int64 and uint8 from lists, uint8 images, symmetric matrices
local function t(...)
  local shape = {...}
  return function() return loupe.rand(table.unpack(shape)) end
end
local function long(list) return function() return loupe.tensor(list, "int64") end end
local function byte(list) return function() return loupe.tensor(list, "uint8") end end
local function img8(...)
  local shape = {...}
  return function() return (loupe.rand(table.unpack(shape)) * 255):byte() end
end
local function canvas_call(method)
  return function(...)
    local c = P.canvas("png", 40, 30)
    return c[method](c, ...)
  end
end
local function with_tensor(method) -- x:method(...) with x the first argument
  return function(x, ...) return x[method](x, ...) end
end
local function sym(n) return function() local a = loupe.rand(n, n); return a + a:t() end end

return {
  {"functional.conv2d", F.conv2d, {t(2, 3, 6, 6), t(4, 3, 3, 3), t(4), {stride = {1, 2}, padding = 1, dilation = 1, groups = 1}}},
  {"functional.conv2d groups", F.conv2d, {t(1, 4, 5, 5), t(4, 2, 3, 3), nil, {groups = 2, padding = "same"}}},
  {"functional.max_pool2d", F.max_pool2d, {t(2, 3, 6, 6), {2, 2}, {stride = 2, padding = 1, dilation = 1, ceil_mode = true}}},
  {"functional.avg_pool2d", F.avg_pool2d, {t(2, 3, 6, 6), 3, {stride = {2, 1}, padding = 1, ceil_mode = false, count_include_pad = false}}},
  {"functional.adaptive_avg_pool2d", F.adaptive_avg_pool2d, {t(2, 3, 6, 6), {4, 3}}},
  {"functional.adaptive_max_pool2d", F.adaptive_max_pool2d, {t(2, 3, 6, 6), {4, 3}, true}},
  {"functional.batch_norm", F.batch_norm, {t(4, 3, 2, 2), t(3), t(3), t(3), t(3), {training = true, momentum = 0.1, eps = 1e-5}}},
  {"functional.linear", F.linear, {t(4, 3), t(5, 3), t(5)}},
  {"functional.bilinear", F.bilinear, {t(4, 3), t(10, 3), t(10)}},
  {"functional.dropout", F.dropout, {t(4, 3), 0.5, true}},
  {"functional.cross_entropy", F.cross_entropy, {t(4, 3), long({1, 2, 3, 1}), {reduction = "sum", label_smoothing = 0.1, weight = t(3)}}},
  {"functional.cross_entropy nd", F.cross_entropy, {t(2, 3, 2, 2), long({{{1, 2}, {3, 1}}, {{1, 1}, {2, 2}}})}},
  {"functional.nll_loss", F.nll_loss, {t(4, 3), long({1, 2, 3, 1}), {reduction = "none", weight = t(3)}}},
  {"functional.mse_loss", F.mse_loss, {t(4, 3), t(4, 3), {reduction = "mean"}}},
  {"functional.bce", F.binary_cross_entropy_with_logits, {t(4, 3), t(4, 3), {reduction = "sum", pos_weight = t(3)}}},
  {"interpolate", loupe.interpolate, {t(2, 3, 5, 6), {7, 4}, {mode = "bilinear", antialias = true}}},
  {"einsum", loupe.einsum, {"bi,ij->bj", t(2, 3), t(3, 4)}},
  {"einsum 3", loupe.einsum, {"o,oi,oj->ij", t(5), t(5, 3), t(5, 4)}},
  {"cat", loupe.cat, {{t(2, 3), t(1, 3)}, 1}},
  {"stack", loupe.stack, {{t(2, 3), t(2, 3)}, 2}},
  {"arange", loupe.arange, {1, 10, 2, {dtype = "float32"}}},
  {"linspace", loupe.linspace, {0, 1, 5}},
  {"eye", loupe.eye, {3, 4}},
  {"full", loupe.full, {{2, 3}, 7, {dtype = "int64", requires_grad = false}}},
  {"randint", loupe.randint, {1, 10, {2, 3}}},
  {"randperm", loupe.randperm, {10}},
  {"tensor", loupe.tensor, {{{1, 2}, {3, 4}}, {dtype = "uint8"}}},
  {"cosine_similarity", loupe.cosine_similarity, {t(4, 3), t(4, 3), 2, 1e-8}},
  {"where", loupe.where, {byte({1, 0, 1}), t(3), 0}},
  {"save", loupe.save, {"w.safetensors", {w = t(2, 3), i = long({1, 2})}, {note = "x"}}},
  {"image.save", loupe.image.save, {t(3, 5, 4), "i.png", {range = {0, 1}, zmid = 0.5}}},
  {"image.save cmap", loupe.image.save, {t(5, 4), "c.png", {cmap = "RdBu", range = "auto"}}},
  {"image.save jpeg", loupe.image.save, {t(3, 5, 4), "i.jpg", {quality = 50}}},
  {"image.colormap", loupe.image.colormap, {"viridis", t(2, 3), {range = {0, 1}, zmid = 0.5}}},
  {"linalg.eigh", loupe.linalg.eigh, {sym(4), {uplo = "U"}}},
  {"linalg.svd", loupe.linalg.svd, {t(2, 4, 3), {full_matrices = false}}},
  {"linalg.pca", loupe.linalg.pca, {t(6, 4), 2, {center = false}}},
  {"Tensor:narrow", with_tensor("narrow"), {t(3, 4), 2, 2, 2}},
  {"Tensor:select", with_tensor("select"), {t(3, 4), 2, 3}},
  {"Tensor:view", with_tensor("view"), {t(3, 4), {2, 6}}},
  {"Tensor:reshape", with_tensor("reshape"), {t(3, 4), 6, -1}},
  {"Tensor:expand", with_tensor("expand"), {t(1, 4), {3, -1}}},
  {"Tensor:permute", with_tensor("permute"), {t(2, 3, 4), 3, 1, 2}},
  {"Tensor:transpose", with_tensor("transpose"), {t(2, 3, 4), 1, 3}},
  {"Tensor:split", with_tensor("split"), {t(5, 4), 2, 1}},
  {"Tensor:chunk", with_tensor("chunk"), {t(5, 4), 3, 2}},
  {"Tensor:index_select", with_tensor("index_select"), {t(5, 4), 1, long({1, 5, 2})}},
  {"Tensor:gather", with_tensor("gather"), {t(5, 4), 2, long({{1}, {4}, {2}, {3}, {1}})}},
  {"Tensor:masked_select", with_tensor("masked_select"), {t(2, 3), byte({{1, 0, 1}, {0, 0, 1}})}},
  {"Tensor:masked_fill_", with_tensor("masked_fill_"), {t(2, 3), byte({1, 0, 1}), 5}},
  {"Tensor:clamp", with_tensor("clamp"), {t(2, 3), 0.2, 0.8}},
  {"Tensor:norm", with_tensor("norm"), {t(2, 3), 2, 2, true}},
  {"Tensor:var", with_tensor("var"), {t(2, 3), 2, true, false}},
  {"Tensor:max", with_tensor("max"), {t(2, 3), 2, true}},
  {"Tensor:argmax", with_tensor("argmax"), {t(2, 3), 1, true}},
  {"Tensor:sum", with_tensor("sum"), {t(2, 3), -1, true}},
  {"Tensor:softmax", with_tensor("softmax"), {t(2, 3), 2}},
  {"Tensor:flatten", with_tensor("flatten"), {t(2, 3, 4), 2, 3}},
  {"Tensor:unsqueeze", with_tensor("unsqueeze"), {t(2, 3), 3}},
  {"Tensor:squeeze", with_tensor("squeeze"), {t(2, 1, 3), 2}},
  {"Tensor:add", with_tensor("add"), {t(2, 3), t(3), 2}},
  {"Tensor:pow_", with_tensor("pow_"), {t(2, 3), 2}},
  {"Tensor:allclose", with_tensor("allclose"), {t(2, 3), t(2, 3), 1e-5, 1e-8}},
  {"Tensor:to", with_tensor("to"), {t(2, 3), "int64"}},
  {"Tensor:backward", function(x, ...) return (x * 2):sum():backward(...) end,
   {function() return loupe.rand(2, 3):requires_grad_() end, loupe.tensor(1.0), {retain_graph = true}}},
  {"Tensor:backward grad", function(x, g, o) return (x * 2):backward(g, o) end,
   {function() return loupe.rand(2, 3):requires_grad_() end, t(2, 3), {retain_graph = false}}},
  {"Tensor __index", function(x, k) return x[k] end, {t(4, 5), {{2, 3}, {1, -1}}}},
  {"Tensor __index 2", function(x, k) return x[k] end, {t(4, 5), {2, {}}}},
  {"Tensor __newindex", function(x, k, v) x[k] = v end, {t(4, 5), {{2, 3}, 2}, t(2)}},
  {"Tensor __newindex mask", function(x, k, v) x[k] = v end, {t(2, 3), byte({{1, 0, 1}, {0, 1, 0}}), 0}},
  {"Tensor __newindex index", function(x, k, v) x[k] = v end, {t(4, 3), long({1, 3}), t(2, 3)}},
  {"_tf.crop", TF.crop, {t(2, 3, 6, 6), 2, long({0, 1}), long({1, 0}), 4, 4, 0, 1, 1}},
  {"_tf.hflip", TF.hflip, {t(2, 3, 4, 4), 2, byte({1, 0})}},
  {"_tf.affine", TF.affine, {t(2, 3, 5, 5), 2, {{1, 0, 0.5, 0, 1, -0.5}}, {0, 0, 0}, "bilinear"}},
  {"_tf.affine per sample", TF.affine, {t(2, 1, 5, 5), 2, {{1, 0, 0, 0, 1, 0}, {0, 1, 0, 1, 0, 0}}, {0.5}, "nearest"}},
  {"_tf.gaussian_blur", TF.gaussian_blur, {t(2, 3, 6, 6), 3, 5, 0.8, 1.2}},
  {"_tf.add_noise", TF.add_noise, {t(4, 3), 4, 0, 1, 0.5}},
  {"_tf.adjust_hue", TF.adjust_hue, {t(2, 3, 4, 4), 0.2}},
  {"transforms.random_crop.apply", loupe.transforms.random_crop.apply, {t(2, 3, 6, 6), {top = 1, left = 2}, {size = 4, padding = {1, 2}, fill = 0.5}}},
  {"transforms.random_affine.apply", loupe.transforms.random_affine.apply, {t(3, 6, 6), {angle = 10, translate = {1, 0}, scale = 1.1, shear = {2, 0}}, {interpolation = "bilinear", fill = {0, 0, 0}}}},
  {"transforms.gaussian_blur.apply", loupe.transforms.gaussian_blur.apply, {t(3, 6, 6), {sigma = {0.5, 1}, kernel_size = {3, 5}}}},
  {"transforms.color_jitter.apply", loupe.transforms.color_jitter.apply, {t(3, 4, 4), {order = {4, 1, 2, 3}, brightness = 1.2, contrast = 0.8, saturation = 1.1, hue = 0.1}}},
  {"transforms.normalize", loupe.transforms.normalize, {t(3, 4, 4), {0.5, 0.5, 0.5}, {0.2, 0.2, 0.2}}},
  {"transforms.center_crop", loupe.transforms.center_crop, {t(3, 6, 6), {4, 3}}},
  {"transforms.resize", loupe.transforms.resize, {t(3, 6, 8), {4, 5}, {antialias = false}}},
  {"_stimuli.shapes", S.shapes, {3, 16, {"circle", "ellipse", "rectangle"}}},
  {"_stimuli.contrast", S.contrast, {img8(2, 3, 4, 4), t(2, 2)}},
  {"_stimuli.grating", S.grating, {16, 2, 0.5, 0, 0.8, 1}},
  {"data.stimuli.grating_pairs", function(o) return loupe.data.stimuli.grating_pairs(o) end, {{size = 16, sf = 2, contrast = 0.5, orientations = 3, phase = 0}}},
  {"data.stimuli.contrast_pairs", function(o) return loupe.data.stimuli.contrast_pairs(o) end, {{n = 2, size = 16, seed = 1, range = {0.1, 0.9}}}},
  {"_batch.iter", function(...) local it = B.iter(...); local a, b = it:next(); it:close(); return a, b end,
   {t(5, 2, 2), long({1, 2, 3, 1, 2}), long({5, 4, 3, 2, 1}), 5, 2, false, false}},
  {"_batch.iter prefetch", function(...) local it = B.iter(...); local a, b = it:next(); a, b = it:next(); it:close(); return a, b end,
   {img8(5, 4), long({1, 2, 3, 1, 2}), nil, 5, 2, true, true}},
  {"_batch.gather", B.gather, {img8(5, 2, 2), long({5, 1})}},
  {"_batch.randperm", B.randperm, {10, 3, 2}},
  {"_data.rgb_to_gray", D.rgb_to_gray, {img8(2, 3, 4, 4)}},
  {"_data.to_labels", D.to_labels, {long({0, 1, 2}), 1, 3, "what"}},
  {"_data.select_labels", D.select_labels, {long({1, 2, 3, 2}), {3, 2}}},
  {"_data.read_cifar", D.read_cifar, {{"nonexistent.bin"}, {label_bytes = 2, label = 2, num_classes = 100}}},
  {"_optim.sgd_step", O.sgd_step, {t(3, 2), t(3, 2), t(3, 2), {lr = 0.1, momentum = 0.9, dampening = 0, weight_decay = 0.01, nesterov = true, step = 2}}},
  {"_optim.adam_step", O.adam_step, {t(3, 2), t(3, 2), t(3, 2), t(3, 2), {lr = 0.1, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.01, decoupled = true, step = 1}}},
  {"_plot.canvas", P.canvas, {"png", 40, 30, 2}},
  {"_plot.text_size", P.text_size, {"text", 12, true}},
  {"canvas:color", canvas_call("color"), {0.1, 0.2, 0.3, 0.5}},
  {"canvas:line_style", canvas_call("line_style"), {2, {3, 1}}},
  {"canvas:line", canvas_call("line"), {1, 2, 30, 20}},
  {"canvas:rect", canvas_call("rect"), {1, 2, 30, 20, true}},
  {"canvas:polygon", canvas_call("polygon"), {{1, 1, 10, 1, 5, 8}, true}},
  {"canvas:polyline", canvas_call("polyline"), {t(5), t(5), {10, 1, 10, 1}}},
  {"canvas:markers", canvas_call("markers"), {t(5), t(5), {10, 1, 10, 1}, "D", 4, t(5, 3), 0.5, 1}},
  {"canvas:text", canvas_call("text"), {"hello", 5, 10, 9, true, 0.5, "middle", 30}},
  {"canvas:image", canvas_call("image"), {t(3, 4, 5), 1, 1, 20, 15, true}},
  {"canvas:thumbnails", canvas_call("thumbnails"), {t(3, 1, 4, 4), t(3), t(3), {10, 1, 10, 1}, 6, t(3, 3), false}},
  {"canvas:clip", canvas_call("clip"), {1, 1, 20, 20}},
  {"canvas:save", canvas_call("save"), {"canvas.png"}},
  {"plot line", function(...) return loupe.plot.figure{width = 120, height = 90}:line(...):render() end,
   {t(5), t(5), {color = {0.1, 0.2, 0.3}, width = 2, dash = {2, 1}, marker = "o", marker_size = 3, alpha = 0.5}}},
  {"plot scatter", function(...) return loupe.plot.figure{width = 120, height = 90}:scatter(...):render() end,
   {t(6, 2), long({1, 2, 1, 2, 3, 1}), {size = 3, alpha = 0.5, classes = {"a", "b", "c"}, thumbnails = t(6, 1, 4, 4), thumb_size = 8}}},
  {"plot imshow", function(...) return loupe.plot.figure{width = 120, height = 90}:imshow(...):render() end,
   {t(5, 6), {cmap = "RdBu", zmid = 0.5, range = {0, 1}, colorbar = true, aspect = "auto"}}},
  {"plot bar", function(...) return loupe.plot.figure{width = 120, height = 90}:bar(...):render() end,
   {t(4), {labels = {"a", "b", "c", "d"}, width = 0.5, value_labels = true, fmt = "%.1f"}}},
  {"plot heatmap_table", function(...) return loupe.plot.figure{width = 120, height = 90}:heatmap_table(...):render() end,
   {t(3, 3), {row_labels = {"a", "b", "c"}, col_labels = {"x", "y", "z"}, fmt = "%.1f"}}},
  {"plot figure", function(o) return loupe.plot.figure(o):render() end,
   {{width = 100, height = 80, rows = 2, cols = 2, spacing = 4, margin = 2, title = "t", col_widths = {2, 1}, row_heights = {1, 1}}}},
  {"data.dataset loader", function(...) local ds = loupe.data.dataset(...); local n = 0
     for _ in ds:loader{batch_size = 2} do n = n + 1 end; return n end,
   {{x = img8(5, 1, 2, 2), y = long({1, 2, 1, 2, 1}), classes = {"a", "b"}, name = "d"}}},
  {"loader options", function(o) local ds = loupe.data.dataset{x = loupe.rand(5, 2), y = loupe.tensor({1, 2, 1, 2, 1}, "int64")}
     local n = 0; for _ in ds:loader(o) do n = n + 1 end; return n end,
   {{batch_size = 2, shuffle = true, drop_last = true, seed = 3, prefetch = true}}},
  {"nn.Conv2d", function(...) return nn.Conv2d(...)(loupe.rand(1, 4, 5, 5)) end, {4, 2, 3, {stride = 1, padding = 1, dilation = 1, groups = 2, bias = false}}},
  {"nn.BatchNorm2d", function(...) return nn.BatchNorm2d(...)(loupe.rand(2, 3, 2, 2)) end, {3, {eps = 1e-5, momentum = 0.1, affine = true, track_running_stats = true}}},
  {"nn.MaxPool2d", function(...) return nn.MaxPool2d(...)(loupe.rand(1, 2, 5, 5)) end, {3, {stride = 2, padding = 1, dilation = 1, ceil_mode = true}}},
  {"nn.Linear", function(...) return nn.Linear(...)(loupe.rand(2, 3)) end, {3, 4, {bias = true}}},
  {"nn.Flatten", function(...) return nn.Flatten(...)(loupe.rand(2, 3, 4)) end, {2, 3}},
  {"optim.SGD step", function(o) local p = loupe.rand(3):requires_grad_(); p:sum():backward()
     local opt = optim.SGD({p}, o); opt:step(); return opt end,
   {{lr = 0.1, momentum = 0.9, dampening = 0.1, weight_decay = 0.1, nesterov = false}}},
  {"optim.Adam step", function(o) local p = loupe.rand(3):requires_grad_(); p:sum():backward()
     local opt = optim.Adam({p}, o); opt:step(); return opt end,
   {{lr = 0.1, betas = {0.9, 0.99}, eps = 1e-8, weight_decay = 0.1}}},
  {"optim.clip_grad_norm_", function(...) local p = loupe.rand(3):requires_grad_(); p:sum():backward()
     return optim.clip_grad_norm_({p}, ...) end, {1.0, 2}},
  {"OneCycleLR", function(o) local opt = optim.SGD({loupe.rand(3):requires_grad_()}, {lr = 0.1, momentum = 0.9})
     local s = optim.lr_scheduler.OneCycleLR(opt, o); for _ = 1, 3 do s:step() end; return s end,
   {{max_lr = 0.1, total_steps = 5, pct_start = 0.3, anneal_strategy = "cos", div_factor = 25, final_div_factor = 1e4, three_phase = true}}},
  {"progress bar", function(o) local p = loupe.progress.new(o); p:update(1, {{"loss", 0.5}}); p:close(); return p end,
   {{total = 3, desc = "d", unit = "it", initial = 1, leave = false, mininterval = 0, ascii = true, file = devnull, width = 40, tty = true}}},
  {"json.encode", loupe.json.encode, {{a = {1, 2, {b = "x"}}, c = 1.5}, {indent = 2, order = {"c", "a"}}}},
  {"bilinear_mlp", function(o) -- (defaults are the paper's 512 hidden units: no decomposition)
     local m = loupe.models.bilinear_mlp(o)
     if m.config.d_hidden <= 16 then return m:decompose() end
   end,
   {{d_input = 4, d_hidden = 3, d_output = 2, n_layer = 1, bias = true, seed = 1}}},
}
