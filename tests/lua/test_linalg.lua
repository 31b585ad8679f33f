-- test_linalg.lua — loupe.linalg: eigh / eigvalsh / svd / svdvals / pca. Properties
-- (reconstruction, orthonormality, order, sign convention), batching and strides, uplo, empty
-- inputs, errors and the not-differentiable rule, and agreement with torch.linalg and
-- sklearn's PCA through tests/fixtures/torch_linalg.safetensors (written by
-- tests/fixtures/gen_torch_linalg.py; see its header for the entries).
--
-- Tolerances: loupe and the references both compute in double from the same float32 inputs,
-- so values agree to float32 rounding (1e-5 relative). Checks that multiply in float32 here
-- (A V against V diag(w)) accumulate n roundings: 1e-5 relative to the largest |entry|.
local loupe = require "loupe"
local T = require "testlib"
local eq, close, raises, truthy = T.eq, T.close, T.raises, T.truthy
local linalg = loupe.linalg

local FIXTURE = "tests/fixtures/torch_linalg.safetensors"
local fixture
local function ref(name)
  fixture = fixture or loupe.load(FIXTURE)
  return assert(fixture[name], name .. " is missing from " .. FIXTURE ..
    " (rerun tests/fixtures/gen_torch_linalg.py)")
end

local function shape(t) return table.concat(t:shape(), ",") end

local function sym(...)
  local a = loupe.randn(...)
  return (a + a:transpose(-1, -2)) / 2
end

local function maxabs(t) return t:abs():max():item() end

-- max |a - b| relative to max |b| (1 at least): the 1e-5 relative checks below
local function rel_err(a, b) return maxabs(a - b) / math.max(1, maxabs(b)) end

local function eye_like(n) return loupe.eye(n) end

-- A V = V diag(w), V^T V = I and w ascending, for every matrix of a batch
local function check_eigh(a, w, v, tol, what)
  tol = tol or 1e-5
  local n = a:size(-1)
  local lhs, rhs = a:matmul(v), v * w:unsqueeze(-2)
  truthy(maxabs(lhs - rhs) <= tol * math.max(1, maxabs(a)),
    ("%s: A V - V diag(w) = %g"):format(what or "eigh", maxabs(lhs - rhs)))
  truthy(rel_err(v:transpose(-1, -2):matmul(v), eye_like(n)) <= tol,
    (what or "eigh") .. ": eigenvectors are not orthonormal")
  if n > 1 then
    local d = w:narrow(-1, 2, n - 1) - w:narrow(-1, 1, n - 1)
    truthy(d:min():item() >= 0, (what or "eigh") .. ": eigenvalues are not ascending")
  end
end

-- b with each column (dim -1 indexes them) flipped to agree in sign with ref's
local function align_columns(b, r)
  local s = (b * r):sum(-2, true):sign()
  return b * s
end

-- the entry of largest magnitude of each column of v is positive (the documented convention)
local function pivots_positive(v, what)
  local _, idx = v:abs():max(-2, true)
  local piv = v:gather(-2, idx)
  truthy(piv:min():item() > 0, what .. ": a vector's largest-magnitude entry is negative")
end

local tests = {}

-- ---- eigh ----

function tests.eigh_matches_torch()
  for _, case in ipairs{"sym5", "sym24", "batch", "upper"} do
    local a = ref("eigh_" .. case .. ".a")
    local w, v = linalg.eigh(a, {uplo = case == "upper" and "U" or "L"})
    close(w, ref("eigh_" .. case .. ".values"), 1e-5, case .. " values")
    local rv = ref("eigh_" .. case .. ".vectors")
    close(align_columns(v, rv), rv, 1e-5, case .. " vectors (up to sign)")
  end
end

function tests.eigh_repeated_eigenvalues()
  local a = ref("eigh_repeated.a")
  local w, v = linalg.eigh(a)
  close(w, ref("eigh_repeated.values"), 1e-5, "values")
  close(w, {1, 1, 1, 2, 2, 5}, 1e-5)
  check_eigh(a, w, v)
end

function tests.eigh_reconstruction_orthonormality_order()
  loupe.manual_seed(1)
  for _, n in ipairs{1, 2, 3, 17, 65} do
    local a = sym(n, n)
    local w, v = linalg.eigh(a)
    eq(shape(w), tostring(n))
    eq(shape(v), n .. "," .. n)
    check_eigh(a, w, v, 1e-5, "n=" .. n)
    truthy(not w.requires_grad and not v.requires_grad, "outputs require grad")
  end
end

-- the experiment's size: a symmetric 512x512 (one of the [10,512,512] batch)
function tests.eigh_512()
  loupe.manual_seed(2)
  local a = sym(512, 512)
  local w, v = linalg.eigh(a)
  check_eigh(a, w, v, 1e-5, "n=512")
end

function tests.eigh_sign_convention()
  loupe.manual_seed(3)
  local _, v = linalg.eigh(sym(4, 9, 9))
  pivots_positive(v, "eigh")
  -- identity: the eigenvectors are +e_i, never -e_i
  local _, vi = linalg.eigh(loupe.eye(4))
  close(vi:abs(), loupe.eye(4))
  pivots_positive(vi, "eigh of the identity")
end

function tests.eigh_batched_equals_per_matrix()
  loupe.manual_seed(4)
  local a = sym(2, 3, 8, 8)
  local w, v = linalg.eigh(a)
  eq(shape(w), "2,3,8")
  eq(shape(v), "2,3,8,8")
  for i = 1, 2 do
    for j = 1, 3 do
      local wi, vi = linalg.eigh(a[i][j])
      close(w[i][j], wi, 1e-6, "values of matrix " .. i .. "," .. j)
      close(v[i][j], vi, 1e-6, "vectors of matrix " .. i .. "," .. j)
    end
  end
end

function tests.eigh_noncontiguous_inputs()
  loupe.manual_seed(5)
  local s = sym(7, 7)
  local w0, v0 = linalg.eigh(s)
  -- transposed view (same matrix, column-major strides)
  local w, v = linalg.eigh(s:t())
  close(w, w0, 1e-6)
  close(v, v0, 1e-6)
  -- expanded batch (stride 0)
  w, v = linalg.eigh(s:expand(3, 7, 7))
  for i = 1, 3 do
    close(w[i], w0, 1e-6)
    close(v[i], v0, 1e-6)
  end
  -- batch in the last dimension, permuted to the front
  local stacked = loupe.stack({s, s * 2}, 3) -- [7, 7, 2]
  w = linalg.eigvalsh(stacked:permute(3, 1, 2))
  close(w[2], w0 * 2, 1e-5)
  -- a sub-block of a larger matrix
  local big = sym(10, 10)
  local sub = big:narrow(1, 2, 5):narrow(2, 2, 5)
  truthy(not sub:is_contiguous())
  w = linalg.eigvalsh(sub)
  close(w, linalg.eigvalsh(sub:contiguous()), 1e-6)
end

function tests.eigh_uplo()
  loupe.manual_seed(6)
  local m = loupe.randn(6, 6) -- not symmetric: the triangle read matters
  local wl = linalg.eigvalsh(m)
  local wu = linalg.eigvalsh(m, {uplo = "U"})
  truthy(maxabs(wl - wu) > 1e-3, "uplo made no difference")
  -- the upper triangle of m is the lower triangle of m^T
  close(wu, linalg.eigvalsh(m:t()), 1e-6)
  close(wl, linalg.eigvalsh(m:t(), {uplo = "U"}), 1e-6)
  -- the symmetric matrix that uplo="U" describes: m's upper triangle mirrored
  local i, j = loupe.arange(1, 7):view(6, 1), loupe.arange(1, 7):view(1, 6)
  local su = loupe.where(i:le(j), m, m:t())
  local w, v = linalg.eigh(m, {uplo = "U"})
  close(w, wu, 1e-6)
  check_eigh(su, w, v, 1e-5, "upper")
end

function tests.eigvalsh_equals_eigh_values()
  loupe.manual_seed(7)
  local a = sym(3, 20, 20)
  local w = linalg.eigh(a)
  close(linalg.eigvalsh(a), w, 1e-5)
end

function tests.eigh_empty()
  local w, v = linalg.eigh(loupe.zeros(0, 3, 3))
  eq(shape(w), "0,3")
  eq(shape(v), "0,3,3")
  w, v = linalg.eigh(loupe.zeros(0, 0))
  eq(shape(w), "0")
  eq(shape(v), "0,0")
  w, v = linalg.eigh(loupe.zeros(2, 0, 0))
  eq(shape(w), "2,0")
  eq(shape(v), "2,0,0")
end

function tests.eigh_errors()
  raises(function() linalg.eigh(loupe.zeros(5)) end,
    "eigh: expected a tensor of at least 2 dimensions [..., n, n], got [5]")
  raises(function() linalg.eigh(loupe.zeros(2, 3)) end,
    "eigh: expected square matrices [..., n, n], got [2,3]")
  raises(function() linalg.eigh(loupe.zeros(2, 2):long()) end,
    "eigh: expected a float32 tensor, got int64")
  raises(function() linalg.eigvalsh(loupe.zeros(2, 2):byte()) end,
    "eigvalsh: expected a float32 tensor, got uint8")
  raises(function() linalg.eigh(3) end, "eigh: expected a tensor for argument 1, got number")
  local a = loupe.eye(3)
  a[{2, 1}] = 0 / 0
  raises(function() linalg.eigh(a) end, "eigh: input contains NaN or Inf")
  a[{2, 1}] = math.huge
  raises(function() linalg.eigvalsh(a:expand(2, 3, 3)) end,
    "eigvalsh: input contains NaN or Inf")
  -- the triangle that is not read may hold anything, as for LAPACK and torch
  close(linalg.eigvalsh(a, {uplo = "U"}), {1, 1, 1})
  raises(function() linalg.eigh(a, {uplo = "X"}) end, 'eigh: uplo must be "L" or "U", got X')
  raises(function() linalg.eigh(a, {UPLO = "U"}) end, "eigh: unknown option 'UPLO'")
  raises(function() linalg.eigh(a, "U") end, "eigh: expected an options table for argument 2")
  -- absurd sizes fail before anything is allocated (the expanded inputs take no memory)
  local one = loupe.zeros(1, 1)
  raises(function() linalg.eigvalsh(one:expand(50000, 50000)) end,
    "eigvalsh: matrices of [50000,50000] are too large for LAPACK (at most 2^31 elements each)")
  raises(function() linalg.eigh(one:expand(40000, 40000)) end,
    "eigh: matrices of [40000,40000] are too large for LAPACK (workspace of")
  raises(function() linalg.svd(one:expand(3, 50000, 50000)) end,
    "svd: matrices of [3,50000,50000] are too large for LAPACK")
  raises(function() linalg.svd(one:expand(30000, 30000)) end,
    "svd: matrices of [30000,30000] are too large for LAPACK (workspace of")
  raises(function() linalg.pca(one:expand(30000, 30000), 2) end,
    "pca: matrices of [30000,30000] are too large for LAPACK (workspace of")
end

-- ---- not differentiable ----

function tests.not_differentiable_rule()
  local x = loupe.randn(4, 4):requires_grad_()
  local msg = "not differentiable in loupe, and the input requires grad (use x:detach() or " ..
              "loupe.no_grad)"
  raises(function() linalg.eigh(x) end, "eigh: " .. msg)
  raises(function() linalg.eigvalsh(x * 2) end, "eigvalsh: " .. msg)
  raises(function() linalg.svd(x) end, "svd: " .. msg)
  raises(function() linalg.svdvals(x) end, "svdvals: " .. msg)
  raises(function() linalg.pca(x, 2) end, "pca: " .. msg)
  local w, v = linalg.eigh(x:detach())
  truthy(not w.requires_grad and not v.requires_grad)
  local u, s, vh = loupe.no_grad(linalg.svd, x)
  truthy(not u.requires_grad and not s.requires_grad and not vh.requires_grad)
  eq(x.grad, nil)
end

-- ---- svd ----

-- a = U[:, :k] diag(S) Vh[:k] for every matrix of a batch
local function check_svd(a, u, s, vh, tol, what)
  local k = s:size(-1)
  local uk, vk = u:narrow(-1, 1, k), vh:narrow(-2, 1, k)
  local rec = (uk * s:unsqueeze(-2)):matmul(vk)
  truthy(rel_err(rec, a) <= (tol or 1e-5), (what or "svd") .. ": U diag(S) Vh differs from A")
end

local function check_orthonormal(q, what)
  local n = q:size(-1)
  truthy(rel_err(q:transpose(-1, -2):matmul(q), loupe.eye(n)) <= 1e-5,
    what .. " is not orthonormal")
end

function tests.svd_matches_torch()
  for _, case in ipairs{"tall", "wide"} do
    local a = ref("svd_" .. case .. ".a")
    local u, s, vh = linalg.svd(a)
    local ru, rs, rvh = ref("svd_" .. case .. ".U"), ref("svd_" .. case .. ".S"),
                        ref("svd_" .. case .. ".Vh")
    eq(shape(u), shape(ru), case .. " U shape")
    eq(shape(vh), shape(rvh), case .. " Vh shape")
    close(s, rs, 1e-5, case .. " S")
    -- singular vectors of distinct singular values: unique up to a shared sign per pair
    local k = s:size(1)
    local vk, rvk = vh:narrow(1, 1, k), rvh:narrow(1, 1, k)
    local sign = (vk * rvk):sum(2, true):sign() -- [k, 1]
    close(vk * sign, rvk, 1e-5, case .. " Vh (up to sign)")
    close(u:narrow(2, 1, k) * sign:t(), ru:narrow(2, 1, k), 1e-5, case .. " U (same signs)")
    check_svd(a, u, s, vh, 1e-5, case)
    check_orthonormal(u, case .. " U")
    check_orthonormal(vh:t(), case .. " Vh")
  end
end

function tests.svd_full_and_reduced_shapes()
  loupe.manual_seed(8)
  for _, mn in ipairs{{7, 4}, {4, 7}, {5, 5}} do
    local m, n = mn[1], mn[2]
    local k = math.min(m, n)
    local a = loupe.randn(m, n)
    local u, s, vh = linalg.svd(a)
    eq(shape(u), m .. "," .. m)
    eq(shape(s), tostring(k))
    eq(shape(vh), n .. "," .. n)
    check_svd(a, u, s, vh)
    check_orthonormal(u, "full U")
    check_orthonormal(vh:t(), "full Vh")
    local ur, sr, vhr = linalg.svd(a, {full_matrices = false})
    eq(shape(ur), m .. "," .. k)
    eq(shape(vhr), k .. "," .. n)
    close(sr, s, 1e-6)
    close(ur, u:narrow(2, 1, k), 1e-5)
    close(vhr, vh:narrow(1, 1, k), 1e-5)
    check_svd(a, ur, sr, vhr)
    local d = s:narrow(1, 2, k - 1) - s:narrow(1, 1, k - 1)
    truthy(d:max():item() <= 0, "singular values are not descending")
    close(linalg.svdvals(a), s, 1e-6)
  end
end

function tests.svd_sign_convention()
  loupe.manual_seed(9)
  local a = loupe.randn(3, 6, 4)
  local u, s, vh = linalg.svd(a)
  pivots_positive(vh:transpose(-1, -2), "svd Vh rows")
  pivots_positive(u:narrow(-1, 5, 2), "svd U columns beyond min(m, n)")
  check_svd(a, u, s, vh)
end

function tests.svd_batched_and_noncontiguous()
  loupe.manual_seed(10)
  local a = loupe.randn(2, 3, 5, 4)
  local u, s, vh = linalg.svd(a, {full_matrices = false})
  eq(shape(u), "2,3,5,4")
  eq(shape(s), "2,3,4")
  eq(shape(vh), "2,3,4,4")
  check_svd(a, u, s, vh)
  for i = 1, 2 do
    for j = 1, 3 do
      local ui, si = linalg.svd(a[i][j], {full_matrices = false})
      close(s[i][j], si, 1e-6)
      close(u[i][j], ui, 1e-5)
    end
  end
  -- transposed view: singular values of A^T are those of A
  local at = a:transpose(-1, -2)
  close(linalg.svdvals(at), s, 1e-5)
  local ut, st, vht = linalg.svd(at)
  check_svd(at, ut, st, vht)
end

function tests.svd_empty_like_torch()
  local u, s, vh = linalg.svd(loupe.zeros(5, 0))
  eq(shape(u), "5,5")
  eq(shape(s), "0")
  eq(shape(vh), "0,0")
  close(u, loupe.eye(5))
  u, s, vh = linalg.svd(loupe.zeros(2, 0, 3), {full_matrices = false})
  eq(shape(u), "2,0,0")
  eq(shape(s), "2,0")
  eq(shape(vh), "2,0,3")
  eq(shape(linalg.svdvals(loupe.zeros(0, 4, 4))), "0,4")
end

function tests.svd_errors()
  raises(function() linalg.svd(loupe.zeros(3)) end,
    "svd: expected a tensor of at least 2 dimensions [..., m, n], got [3]")
  raises(function() linalg.svdvals(loupe.zeros(3, 3):long()) end,
    "svdvals: expected a float32 tensor, got int64")
  local a = loupe.zeros(3, 4)
  a[{1, 4}] = 0 / 0
  raises(function() linalg.svd(a) end, "svd: input contains NaN or Inf")
  raises(function() linalg.svd(loupe.zeros(2, 2), {full = true}) end,
    "svd: unknown option 'full'")
end

-- ---- pca ----

function tests.pca_matches_sklearn()
  local x, k = ref("pca.X"), ref("pca.k"):item()
  local p = linalg.pca(x, k)
  close(p.components, ref("pca.components"), 1e-5, "components")
  close(p.explained_variance, ref("pca.explained_variance"), 1e-5, "explained_variance")
  close(p.explained_variance_ratio, ref("pca.explained_variance_ratio"), 1e-5,
    "explained_variance_ratio")
  close(p.singular_values, ref("pca.singular_values"), 1e-5, "singular_values")
  close(p.mean, ref("pca.mean"), 1e-5, "mean")
  close(p.scores, ref("pca.scores"), 1e-5, "scores")
  -- scores are the centred data projected on the components
  close(p.scores, (x - p.mean):matmul(p.components:t()), 1e-5)
end

function tests.pca_shapes_default_k_and_properties()
  loupe.manual_seed(11)
  for _, nd in ipairs{{30, 5}, {4, 9}} do -- more samples than features, and fewer
    local n, d = nd[1], nd[2]
    local x = loupe.randn(n, d) + 3
    local p = linalg.pca(x)
    local k = math.min(n, d)
    eq(shape(p.components), k .. "," .. d)
    eq(shape(p.scores), n .. "," .. k)
    eq(shape(p.mean), tostring(d))
    close(p.explained_variance_ratio:sum():item(), 1, 1e-5)
    close(p.explained_variance, p.singular_values ^ 2 / (n - 1), 1e-5)
    check_orthonormal(p.components:t(), "components")
    pivots_positive(p.components:t(), "pca components")
    close(p.mean, x:mean(1), 1e-5)
    -- total variance: the per-feature variances add up to the explained variances
    close(p.explained_variance:sum():item(), x:var(1):sum():item(), 1e-4)
    local p2 = linalg.pca(x, 2, {center = true})
    close(p2.components, p.components:narrow(1, 1, 2), 1e-5)
    close(p2.explained_variance_ratio, p.explained_variance_ratio:narrow(1, 1, 2), 1e-5)
  end
  local p0 = linalg.pca(loupe.randn(5, 3), 0)
  eq(shape(p0.components), "0,3")
  eq(shape(p0.scores), "5,0")
end

function tests.pca_uncentered_is_svd_of_x()
  loupe.manual_seed(12)
  local x = loupe.randn(12, 4) + 1
  local p = linalg.pca(x, 3, {center = false})
  close(p.mean, loupe.zeros(4))
  local _, s, vh = linalg.svd(x, {full_matrices = false})
  close(p.singular_values, s:narrow(1, 1, 3), 1e-5)
  close(p.components, vh:narrow(1, 1, 3), 1e-5)
  close(p.scores, x:matmul(p.components:t()), 1e-5)
end

function tests.pca_errors()
  raises(function() linalg.pca(loupe.zeros(2, 3, 4), 1) end,
    "pca: expected a 2-D tensor [N, D] (samples as rows), got [2,3,4]")
  raises(function() linalg.pca(loupe.zeros(1, 4), 1) end,
    "pca: need at least 2 samples (rows), got [1,4]")
  raises(function() linalg.pca(loupe.randn(5, 3), 4) end,
    "pca: 4 components requested, but [5,3] has at most 3")
  raises(function() linalg.pca(loupe.randn(5, 3), -1) end, "pca: -1 components requested")
  raises(function() linalg.pca(loupe.zeros(5, 3):long(), 1) end,
    "pca: expected a float32 tensor, got int64")
  local x = loupe.randn(5, 3)
  x[{3, 2}] = -math.huge
  raises(function() linalg.pca(x, 1) end, "pca: input contains NaN or Inf")
  raises(function() linalg.pca(loupe.randn(5, 3), 1, {centre = true}) end,
    "pca: unknown option 'centre'")
end

return tests
