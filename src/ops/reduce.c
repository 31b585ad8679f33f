/* reduce.c — reductions over one dimension or all: sum, mean, prod, var, std, norm, max, min,
 * argmax, argmin, and sum_to (the inverse of broadcasting).
 *
 * Every reduction views its (contiguous) input as [outer, R, inner] and reduces R. Sums
 * accumulate in double, so results are at least as accurate as PyTorch's float sums. */
#include "loupe/autograd.h"
#include "loupe/core.h"
#include "loupe/ops.h"
#include "../strided.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

enum rkind { R_SUM, R_PROD, R_MAX, R_MIN, R_VAR, R_NORM };

struct rshape {
    int dim; /* 0-based, or DIM_ALL */
    int64_t outer, R, inner;
    int ndim;                     /* of the result */
    int64_t shape[TENSOR_MAXDIM]; /* of the result */
};

static int rshape_init(const char *op, const struct tensor *x, int dim, bool keepdim,
                       struct rshape *rs)
{
    if (x->dtype != DT_FLOAT32)
        return err_set("%s: expected a float32 tensor, got %s (convert with :float())", op,
                       dtype_name(x->dtype));
    rs->outer = 1;
    rs->inner = 1;
    if (dim == DIM_ALL) {
        rs->dim = DIM_ALL;
        rs->R = tensor_numel(x);
        rs->ndim = keepdim ? x->ndim : 0;
        for (int d = 0; d < rs->ndim; d++)
            rs->shape[d] = 1;
        return 0;
    }
    if ((dim = dim_wrap(op, dim, x->ndim)) < 0)
        return -1;
    rs->dim = dim;
    rs->R = x->ndim ? x->shape[dim] : 1;
    for (int d = 0; d < dim; d++)
        rs->outer *= x->shape[d];
    for (int d = dim + 1; d < x->ndim; d++)
        rs->inner *= x->shape[d];
    rs->ndim = 0;
    for (int d = 0; d < x->ndim; d++) {
        if (d != dim)
            rs->shape[rs->ndim++] = x->shape[d];
        else if (keepdim)
            rs->shape[rs->ndim++] = 1;
    }
    return 0;
}

/* Reduces one slice x[0], x[st], ..., x[(R-1)st]. */
static float reduce_slice(enum rkind k, const float *x, int64_t R, int64_t st, double p,
                          double correction, int64_t *arg)
{
    double acc;
    int64_t best = 0;
    switch (k) {
    case R_SUM:
        acc = 0;
        for (int64_t r = 0; r < R; r++)
            acc += x[r * st];
        return (float)acc;
    case R_PROD:
        acc = 1;
        for (int64_t r = 0; r < R; r++)
            acc *= x[r * st];
        return (float)acc;
    case R_MAX:
    case R_MIN: {
        float v = x[0];
        for (int64_t r = 1; r < R && !isnan(v); r++) {
            float y = x[r * st];
            if (isnan(y) || (k == R_MAX ? y > v : y < v)) {
                v = y;
                best = r;
            }
        }
        if (arg)
            *arg = best;
        return v;
    }
    case R_VAR: {
        double mean = 0, ss = 0;
        for (int64_t r = 0; r < R; r++)
            mean += x[r * st];
        mean /= (double)R;
        for (int64_t r = 0; r < R; r++) {
            double d = x[r * st] - mean;
            ss += d * d;
        }
        double dof = (double)R - correction;
        return (float)(dof > 0 ? ss / dof : (ss == 0 && dof <= 0 ? NAN : ss / dof));
    }
    case R_NORM:
        acc = 0;
        if (isinf(p)) {
            for (int64_t r = 0; r < R; r++)
                acc = fmax(acc, fabs(x[r * st]));
            return (float)acc;
        }
        if (p == 2) {
            for (int64_t r = 0; r < R; r++)
                acc += (double)x[r * st] * x[r * st];
            return (float)sqrt(acc);
        }
        if (p == 1) {
            for (int64_t r = 0; r < R; r++)
                acc += fabs(x[r * st]);
            return (float)acc;
        }
        for (int64_t r = 0; r < R; r++)
            acc += pow(fabs(x[r * st]), p);
        return (float)pow(acc, 1.0 / p);
    }
    return 0;
}

/* Large all-reduce sums run in parallel chunks with double partials. */
static float sum_parallel(const float *x, int64_t n)
{
    int threads = omp_get_max_threads();
    double partial[256] = {0};
    if (threads > 256)
        threads = 256;
    int64_t chunk = (n + threads - 1) / threads;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int t = 0; t < threads; t++) {
        int64_t lo = t * chunk, hi = lo + chunk < n ? lo + chunk : n;
        double acc = 0;
        for (int64_t i = lo; i < hi; i++)
            acc += x[i];
        partial[t] = acc;
    }
    double total = 0;
    for (int t = 0; t < threads; t++)
        total += partial[t];
    return (float)total;
}

/* out[outer*inner] (and idx) from x viewed as [outer, R, inner]; x contiguous. */
static void reduce_run(enum rkind k, const struct rshape *rs, const float *x, float *out,
                       int64_t *idx, double p, double correction)
{
    int64_t outer = rs->outer, R = rs->R, inner = rs->inner, nout = outer * inner;
    if (R == 0) {
        float empty = k == R_PROD ? 1.0f : (k == R_SUM || k == R_NORM) ? 0.0f : NAN;
        for (int64_t i = 0; i < nout; i++)
            out[i] = empty;
        return;
    }
    if (k == R_SUM && nout == 1 && R > PAR_MIN_ELEMS) {
        out[0] = sum_parallel(x, R);
        return;
    }
    if (k == R_SUM && inner > 1) {
        /* accumulate whole rows: the inner loop is contiguous and vectorises */
        PARALLEL_FOR(nout * R > PAR_MIN_ELEMS && outer > 1, o, outer, {
            double *acc = calloc((size_t)inner, sizeof *acc);
            if (!acc) { /* fall back to the slice loop, which needs no memory */
                for (int64_t i = 0; i < inner; i++)
                    out[o * inner + i] = reduce_slice(k, x + o * R * inner + i, R, inner, p,
                                                      correction, NULL);
                continue;
            }
            for (int64_t r = 0; r < R; r++) {
                const float *row = x + (o * R + r) * inner;
                _Pragma("omp simd") for (int64_t i = 0; i < inner; i++) acc[i] += row[i];
            }
            for (int64_t i = 0; i < inner; i++)
                out[o * inner + i] = (float)acc[i];
            free(acc);
        });
        return;
    }
    PARALLEL_FOR(nout * R > PAR_MIN_ELEMS && nout > 1, j, nout, {
        int64_t o = j / inner, i = j % inner, a = 0;
        out[j] = reduce_slice(k, x + o * R * inner + i, R, inner, p, correction, idx ? &a : NULL);
        if (idx)
            idx[j] = a;
    });
}

/* Runs a reduction; returns the values (and positions for max/min if idx != NULL). */
static struct tensor *reduce_values(const char *op, enum rkind k, struct tensor *x, int dim,
                                    bool keepdim, double p, double correction,
                                    struct tensor **idx, struct rshape *rs_out)
{
    struct rshape rs;
    if (rshape_init(op, x, dim, keepdim, &rs) < 0)
        return NULL;
    if ((k == R_MAX || k == R_MIN) && rs.R == 0) {
        err_set("%s: cannot reduce an empty dimension (shape %s)", op, tshape(x));
        return NULL;
    }
    struct tensor *xc = tensor_contiguous(x);
    struct tensor *out = xc ? tensor_new(DT_FLOAT32, rs.ndim, rs.shape) : NULL;
    struct tensor *ix = out && idx ? tensor_new(DT_INT64, rs.ndim, rs.shape) : NULL;
    if (!out || (idx && !ix)) {
        tensor_release(xc);
        tensor_release(out);
        return NULL;
    }
    reduce_run(k, &rs, tensor_f32(xc), tensor_f32(out), ix ? tensor_i64(ix) : NULL, p,
               correction);
    tensor_release(xc);
    if (idx)
        *idx = ix;
    if (rs_out)
        *rs_out = rs;
    return out;
}

/* g (reduced shape) broadcast back to the input's shape, as a view. */
static struct tensor *expand_back(struct ag_node *n, struct tensor *g)
{
    int dim = (int)n->iarg[0];
    bool keepdim = n->iarg[1];
    const struct ag_input *in = &n->in[0];
    struct tensor *gk;
    if (dim == DIM_ALL) { /* one element: give it the input's rank */
        int64_t ones[TENSOR_MAXDIM];
        for (int d = 0; d < in->ndim; d++)
            ones[d] = 1;
        gk = op_reshape(g, in->ndim, ones);
    } else {
        gk = keepdim ? tensor_retain(g) : op_unsqueeze(g, dim);
    }
    if (!gk)
        return NULL;
    struct tensor *e = op_expand(gk, in->ndim, in->shape);
    tensor_release(gk);
    return e;
}

static int sum_backward(struct ag_node *n, struct tensor *g, struct tensor **gi)
{
    struct tensor *e = expand_back(n, g);
    if (!e)
        return -1;
    if (n->farg[0] != 1.0) { /* mean: divide by the count */
        gi[0] = op_binary_scalar(BIN_MUL, e, (float)n->farg[0]);
        tensor_release(e);
    } else {
        gi[0] = e;
    }
    return gi[0] ? 0 : -1;
}

static void record_reduce(struct tensor **out, const char *name, ag_backward_fn bw,
                          struct tensor *x, int dim, bool keepdim, double scale)
{
    struct ag_node *n = ag_record(out, name, bw, 1, &x);
    if (n) {
        n->iarg[0] = dim;
        n->iarg[1] = keepdim;
        n->farg[0] = scale;
        ag_save(n, x);
        ag_save(n, *out);
    }
}

struct tensor *op_sum(struct tensor *x, int dim, bool keepdim)
{
    struct rshape rs;
    struct tensor *out = reduce_values("sum", R_SUM, x, dim, keepdim, 0, 0, NULL, &rs);
    if (out)
        record_reduce(&out, "SumBackward", sum_backward, x, rs.dim, keepdim, 1.0);
    return out;
}

struct tensor *op_mean(struct tensor *x, int dim, bool keepdim)
{
    struct rshape rs;
    struct tensor *out = reduce_values("mean", R_SUM, x, dim, keepdim, 0, 0, NULL, &rs);
    if (!out)
        return NULL;
    float inv = 1.0f / (float)rs.R;
    if (rs.R == 0)
        inv = NAN;
    float *o = tensor_f32(out);
    for (int64_t i = 0, n = tensor_numel(out); i < n; i++)
        o[i] = (float)((double)o[i] / (double)rs.R);
    record_reduce(&out, "MeanBackward", sum_backward, x, rs.dim, keepdim, inv);
    return out;
}

/* d prod / d x_i = product of the others, computed per slice so zeros are handled. */
static int prod_backward(struct ag_node *n, struct tensor *g, struct tensor **gi)
{
    struct tensor *x = ag_saved(n, 0);
    if (!x)
        return -1;
    struct rshape rs;
    if (rshape_init("prod", x, (int)n->iarg[0], false, &rs) < 0)
        return -1;
    struct tensor *xc = tensor_contiguous(x), *ge = expand_back(n, g);
    struct tensor *gec = ge ? tensor_contiguous(ge) : NULL;
    struct tensor *d = xc ? tensor_new_like(xc) : NULL;
    if (!d || !gec) {
        tensor_release(xc);
        tensor_release(ge);
        tensor_release(gec);
        tensor_release(d);
        return -1;
    }
    const float *xs = tensor_f32(xc), *gs = tensor_f32(gec);
    float *ds = tensor_f32(d);
    for (int64_t o = 0; o < rs.outer; o++)
        for (int64_t i = 0; i < rs.inner; i++) {
            int64_t base = o * rs.R * rs.inner + i, zeros = 0, zpos = -1;
            double nz = 1;
            for (int64_t r = 0; r < rs.R; r++) {
                float v = xs[base + r * rs.inner];
                if (v == 0) {
                    zeros++;
                    zpos = r;
                } else {
                    nz *= v;
                }
            }
            for (int64_t r = 0; r < rs.R; r++) {
                int64_t k = base + r * rs.inner;
                double others = zeros == 0 ? nz / xs[k] : (zeros == 1 && r == zpos ? nz : 0);
                ds[k] = (float)(gs[k] * others);
            }
        }
    tensor_release(xc);
    tensor_release(ge);
    tensor_release(gec);
    gi[0] = d;
    return 0;
}

struct tensor *op_prod(struct tensor *x, int dim, bool keepdim)
{
    struct rshape rs;
    struct tensor *out = reduce_values("prod", R_PROD, x, dim, keepdim, 0, 0, NULL, &rs);
    if (out)
        record_reduce(&out, "ProdBackward", prod_backward, x, rs.dim, keepdim, 1.0);
    return out;
}

/* var: g * 2 (x - mean) / (R - correction); std additionally divides by 2 std. */
static int var_backward(struct ag_node *n, struct tensor *g, struct tensor **gi)
{
    struct tensor *x = ag_saved(n, 0), *out = ag_saved(n, 1);
    if (!x || !out)
        return -1;
    int dim = (int)n->iarg[0];
    bool is_std = n->iarg[2];
    struct tensor *mean = op_mean(x, dim, true);
    struct tensor *dev = mean ? op_sub(x, mean) : NULL;
    struct tensor *scaled = dev ? op_binary_scalar(BIN_MUL, dev, (float)n->farg[0]) : NULL;
    struct tensor *gsc = NULL, *ge;
    if (is_std) { /* g / std, broadcast back */
        struct tensor *q = op_div(g, out);
        ge = q ? expand_back(n, q) : NULL;
        tensor_release(q);
        if (scaled && ge && (gsc = op_binary_scalar(BIN_MUL, scaled, 0.5f))) {
            tensor_release(scaled);
            scaled = gsc;
        }
    } else {
        ge = expand_back(n, g);
    }
    gi[0] = scaled && ge ? op_mul(ge, scaled) : NULL;
    tensor_release(mean);
    tensor_release(dev);
    tensor_release(scaled);
    tensor_release(ge);
    return gi[0] ? 0 : -1;
}

static struct tensor *var_or_std(const char *op, struct tensor *x, int dim, double correction,
                                 bool keepdim, bool is_std)
{
    struct rshape rs;
    struct tensor *out = reduce_values(op, R_VAR, x, dim, keepdim, 0, correction, NULL, &rs);
    if (!out)
        return NULL;
    if (is_std) {
        float *o = tensor_f32(out);
        for (int64_t i = 0, k = tensor_numel(out); i < k; i++)
            o[i] = sqrtf(o[i]);
    }
    struct ag_node *n = ag_record(&out, is_std ? "StdBackward" : "VarBackward", var_backward, 1,
                                  &x);
    if (n) {
        n->iarg[0] = rs.dim;
        n->iarg[1] = keepdim;
        n->iarg[2] = is_std;
        n->farg[0] = 2.0 / ((double)rs.R - correction);
        ag_save(n, x);
        ag_save(n, out);
    }
    return out;
}

struct tensor *op_var(struct tensor *x, int dim, double correction, bool keepdim)
{
    return var_or_std("var", x, dim, correction, keepdim, false);
}

struct tensor *op_std(struct tensor *x, int dim, double correction, bool keepdim)
{
    return var_or_std("std", x, dim, correction, keepdim, true);
}

/* p-norm backward: g * sign(x) |x|^(p-1) / norm^(p-1); zero where the norm is zero. For
 * p = inf the gradient goes to the elements of largest magnitude, split evenly between ties. */
static int norm_backward(struct ag_node *n, struct tensor *g, struct tensor **gi)
{
    struct tensor *x = ag_saved(n, 0), *out = ag_saved(n, 1);
    if (!x || !out)
        return -1;
    double p = n->farg[1];
    struct tensor *ne = expand_back(n, out), *ge = expand_back(n, g);
    struct tensor *xc = tensor_contiguous(x);
    struct tensor *nec = ne ? tensor_contiguous(ne) : NULL, *gec = ge ? tensor_contiguous(ge) : NULL;
    struct tensor *d = xc ? tensor_new_like(xc) : NULL;
    if (d && nec && gec) {
        const float *xs = tensor_f32(xc), *ns = tensor_f32(nec), *gs = tensor_f32(gec);
        float *ds = tensor_f32(d);
        int64_t k = tensor_numel(d);
        for (int64_t i = 0; i < k; i++) {
            double v = xs[i], nv = ns[i], s = (v > 0) - (v < 0), r;
            if (nv == 0)
                r = 0;
            else if (isinf(p))
                r = fabs(v) == nv ? s : 0;
            else if (p == 2)
                r = v / nv;
            else if (p == 1)
                r = s;
            else
                r = s * pow(fabs(v), p - 1) / pow(nv, p - 1);
            ds[i] = (float)(gs[i] * r);
        }
        if (isinf(p)) { /* ties for the largest magnitude share the gradient, as PyTorch */
            struct rshape rs;
            rshape_init("norm", x, (int)n->iarg[0], false, &rs);
            for (int64_t o = 0; o < rs.outer; o++)
                for (int64_t in = 0; in < rs.inner; in++) {
                    int64_t base = o * rs.R * rs.inner + in, ties = 0;
                    for (int64_t r = 0; r < rs.R; r++) {
                        int64_t at = base + r * rs.inner;
                        ties += ns[at] != 0 && fabsf(xs[at]) == ns[at];
                    }
                    for (int64_t r = 0; r < rs.R && ties > 1; r++)
                        ds[base + r * rs.inner] /= (float)ties;
                }
        }
    }
    tensor_release(ne);
    tensor_release(ge);
    tensor_release(xc);
    tensor_release(nec);
    tensor_release(gec);
    gi[0] = d;
    return d && nec && gec ? 0 : -1;
}

struct tensor *op_norm(struct tensor *x, double p, int dim, bool keepdim)
{
    if (!(p > 0)) {
        err_set("norm: p must be positive (or inf), got %g", p);
        return NULL;
    }
    struct rshape rs;
    struct tensor *out = reduce_values("norm", R_NORM, x, dim, keepdim, p, 0, NULL, &rs);
    struct ag_node *n = out ? ag_record(&out, "NormBackward", norm_backward, 1, &x) : NULL;
    if (n) {
        n->iarg[0] = rs.dim;
        n->iarg[1] = keepdim;
        n->farg[1] = p;
        ag_save(n, x);
        ag_save(n, out);
    }
    return out;
}

/* max/min over a dim: the gradient goes to the selected position. Over everything: split
 * evenly between ties, as PyTorch does. */
static int select_backward(struct ag_node *n, struct tensor *g, struct tensor **gi)
{
    struct tensor *x = ag_saved(n, 0), *out = ag_saved(n, 1);
    if (!x || !out)
        return -1;
    struct tensor *oe = expand_back(n, out), *ge = expand_back(n, g);
    struct tensor *oec = oe ? tensor_contiguous(oe) : NULL, *gec = ge ? tensor_contiguous(ge) : NULL;
    struct tensor *xc = tensor_contiguous(x);
    struct tensor *d = xc ? tensor_zeros(DT_FLOAT32, xc->ndim, xc->shape) : NULL;
    int rc = d && oec && gec ? 0 : -1;
    if (rc == 0) {
        struct rshape rs;
        rshape_init("max", x, (int)n->iarg[0], false, &rs);
        const float *xs = tensor_f32(xc), *os = tensor_f32(oec), *gs = tensor_f32(gec);
        float *ds = tensor_f32(d);
        bool all = n->iarg[0] == DIM_ALL;
        for (int64_t o = 0; o < rs.outer; o++)
            for (int64_t i = 0; i < rs.inner; i++) {
                int64_t base = o * rs.R * rs.inner + i, ties = 0;
                for (int64_t r = 0; r < rs.R; r++) {
                    int64_t k = base + r * rs.inner;
                    bool hit = xs[k] == os[k] || (isnan(xs[k]) && isnan(os[k]));
                    if (hit && (all || ties == 0)) {
                        ds[k] = gs[k];
                        ties++;
                    }
                }
                if (all && ties > 1)
                    for (int64_t r = 0; r < rs.R; r++)
                        ds[base + r * rs.inner] /= (float)ties;
            }
    }
    tensor_release(oe);
    tensor_release(ge);
    tensor_release(oec);
    tensor_release(gec);
    tensor_release(xc);
    if (rc < 0) {
        tensor_release(d);
        return -1;
    }
    gi[0] = d;
    return 0;
}

static struct tensor *max_min(const char *op, enum rkind k, struct tensor *x, int dim,
                              bool keepdim, struct tensor **idx, int64_t base)
{
    struct rshape rs;
    struct tensor *ix = NULL;
    struct tensor *out = reduce_values(op, k, x, dim, keepdim, 0, 0, &ix, &rs);
    if (!out)
        return NULL;
    if (idx) {
        int64_t *is = tensor_i64(ix);
        for (int64_t i = 0, m = tensor_numel(ix); i < m; i++)
            is[i] += base;
        *idx = ix;
    } else {
        tensor_release(ix);
    }
    struct ag_node *n =
        ag_record(&out, k == R_MAX ? "MaxBackward" : "MinBackward", select_backward, 1, &x);
    if (n) {
        n->iarg[0] = rs.dim;
        n->iarg[1] = keepdim;
        ag_save(n, x);
        ag_save(n, out);
    }
    return out;
}

struct tensor *op_max(struct tensor *x, int dim, bool keepdim, struct tensor **idx,
                      int64_t base)
{
    return max_min("max", R_MAX, x, dim, keepdim, idx, base);
}

struct tensor *op_min(struct tensor *x, int dim, bool keepdim, struct tensor **idx,
                      int64_t base)
{
    return max_min("min", R_MIN, x, dim, keepdim, idx, base);
}

static struct tensor *arg_extreme(const char *op, enum rkind k, struct tensor *x, int dim,
                                  bool keepdim, int64_t base)
{
    struct tensor *ix = NULL;
    bool was = ag_set_grad_enabled(false);
    struct tensor *v = reduce_values(op, k, x, dim, keepdim, 0, 0, &ix, NULL);
    ag_set_grad_enabled(was);
    if (!v)
        return NULL;
    tensor_release(v);
    int64_t *is = tensor_i64(ix);
    for (int64_t i = 0, m = tensor_numel(ix); i < m; i++)
        is[i] += base;
    return ix;
}

struct tensor *op_argmax(struct tensor *x, int dim, bool keepdim, int64_t base)
{
    return arg_extreme("argmax", R_MAX, x, dim, keepdim, base);
}

struct tensor *op_argmin(struct tensor *x, int dim, bool keepdim, int64_t base)
{
    return arg_extreme("argmin", R_MIN, x, dim, keepdim, base);
}

struct tensor *op_sum_to(struct tensor *x, int ndim, const int64_t *shape)
{
    if (ndim > x->ndim) {
        err_set("sum_to: cannot reduce shape %s to %s", tshape(x), shape_fmt(ndim, shape));
        return NULL;
    }
    int lead = x->ndim - ndim;
    struct tensor *cur = tensor_retain(x);
    for (int d = x->ndim - 1; d >= 0 && cur; d--) {
        int64_t want = d < lead ? 1 : shape[d - lead];
        if (want == x->shape[d])
            continue;
        if (want != 1) {
            tensor_release(cur);
            err_set("sum_to: cannot reduce shape %s to %s", tshape(x), shape_fmt(ndim, shape));
            return NULL;
        }
        struct tensor *s = op_sum(cur, d, true);
        tensor_release(cur);
        cur = s;
    }
    if (!cur)
        return NULL;
    struct tensor *r = op_reshape(cur, ndim, shape);
    tensor_release(cur);
    return r;
}
