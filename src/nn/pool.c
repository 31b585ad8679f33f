/* pool.c — 2-D pooling over x [N, C, H, W]: max and average with kernel, stride, padding,
 * dilation (max), ceil_mode and count_include_pad (avg), and the adaptive variants, all with
 * PyTorch's window and output-size rules.
 *
 * Every variant reduces to a plan: for each output row oh a run of input rows (first row,
 * count, step = dilation) already clipped to the input, the same for each output column, and
 * for averages a divisor that factorises into a row part and a column part. Two kernels (max
 * with argmax, average) then serve all four ops, OpenMP over the N·C planes. Max pooling
 * keeps the argmax (flat h·W + w within the plane) for backward, which scatters the gradient
 * there; average pooling's backward spreads g / divisor over the clipped window. */
#include "loupe/autograd.h"
#include "loupe/core.h"
#include "loupe/nn.h"
#include "nn_util.h"
#include "../strided.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct pool_plan {
    int64_t H, W, OH, OW, hstep, wstep;
    int64_t *hs, *hc, *ws, *wc; /* first clipped row/col and tap count per output row/col */
    float *hdiv, *wdiv;         /* divisor = hdiv[oh] * wdiv[ow] (average pools) */
};

static void plan_free(void *p)
{
    struct pool_plan *pl = p;
    if (pl) {
        free(pl->hs);
        free(pl);
    }
}

/* A plan with room for OH rows and OW columns (one allocation for the arrays). */
static struct pool_plan *plan_new(const char *op, int64_t H, int64_t W, int64_t OH, int64_t OW)
{
    struct pool_plan *pl = calloc(1, sizeof *pl);
    size_t n = (size_t)(OH + OW);
    void *arrays = pl ? malloc(n * 2 * sizeof(int64_t) + n * sizeof(float)) : NULL;
    if (!arrays) {
        free(pl);
        err_set("%s: out of memory", op);
        return NULL;
    }
    *pl = (struct pool_plan){.H = H, .W = W, .OH = OH, .OW = OW, .hstep = 1, .wstep = 1};
    pl->hs = arrays;
    pl->hc = pl->hs + OH;
    pl->ws = pl->hc + OH;
    pl->wc = pl->ws + OW;
    pl->hdiv = (float *)(pl->wc + OW);
    pl->wdiv = pl->hdiv + OH;
    return pl;
}

/* ---- output sizes and windows (PyTorch's pooling_output_shape and kernels) ---- */

static int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

static int64_t pool_out_size(int64_t in, int64_t k, int64_t pad, int64_t stride, int64_t dil,
                             bool ceil_mode)
{
    int64_t out = floor_div(in + 2 * pad - dil * (k - 1) - 1 + (ceil_mode ? stride - 1 : 0),
                            stride) + 1;
    /* the last window must start inside the input or the left padding */
    if (ceil_mode && (out - 1) * stride >= in + pad)
        out--;
    return out;
}

/* Max pooling taps of output position o along one axis: start = o·s - p, taps start + i·d for
 * i < k, clipped to [0, in). */
static void max_window(int64_t o, int64_t in, int64_t k, int64_t s, int64_t p, int64_t d,
                       int64_t *first, int64_t *count)
{
    int64_t start = o * s - p;
    int64_t i0 = start < 0 ? (-start + d - 1) / d : 0;
    int64_t i1 = in - start <= 0 ? 0 : (in - start + d - 1) / d;
    if (i1 > k)
        i1 = k;
    *first = start + i0 * d;
    *count = i1 > i0 ? i1 - i0 : 0;
}

/* Average pooling window: [start, min(start + k, in + p)) counts towards the divisor when
 * padding is included; the clipped part [max(start, 0), min(end, in)) is summed. */
static void avg_window(int64_t o, int64_t in, int64_t k, int64_t s, int64_t p,
                       bool count_include_pad, int64_t *first, int64_t *count, float *div)
{
    int64_t start = o * s - p, end = start + k < in + p ? start + k : in + p;
    int64_t padded = end - start;
    int64_t a = start > 0 ? start : 0, b = end < in ? end : in;
    *first = a;
    *count = b > a ? b - a : 0;
    *div = (float)(count_include_pad ? padded : *count);
}

/* Adaptive window: [floor(o·in/out), ceil((o+1)·in/out)). */
static void adaptive_window(int64_t o, int64_t in, int64_t out, int64_t *first, int64_t *count,
                            float *div)
{
    int64_t a = o * in / out, b = ((o + 1) * in + out - 1) / out;
    *first = a;
    *count = b - a;
    *div = (float)(b - a);
}

/* ---- kernels ---- */

/* Output rows at a time, vectorised across the output columns: every column's window runs
 * through the same taps (i, j) in the same order as a scalar loop would, the columns whose
 * window is shorter masked out. (A scalar loop per output was ~10x slower: ResNet's max pool
 * took 4% of a training step.) */
static void max_forward(const struct pool_plan *pl, int64_t planes, const float *x, float *y,
                        int64_t *idx)
{
    int64_t HW = pl->H * pl->W, OHW = pl->OH * pl->OW, OW = pl->OW, kw = 0;
    const int64_t *ws = pl->ws, *wc = pl->wc;
    for (int64_t ow = 0; ow < OW; ow++)
        kw = wc[ow] > kw ? wc[ow] : kw;
    PARALLEL_FOR(planes > 1 && planes * OHW * 4 > PAR_MIN_ELEMS, t, planes, {
        const float *xp = x + t * HW;
        for (int64_t oh = 0; oh < pl->OH; oh++) {
            float *yr = y + t * OHW + oh * OW;
            int64_t *ir = idx + t * OHW + oh * OW;
            for (int64_t ow = 0; ow < OW; ow++) {
                yr[ow] = -INFINITY;
                ir[ow] = -1;
            }
            for (int64_t i = 0; i < pl->hc[oh]; i++) {
                int64_t row = (pl->hs[oh] + i * pl->hstep) * pl->W;
                for (int64_t j = 0; j < kw; j++) {
                    int64_t off = row + j * pl->wstep;
                    _Pragma("omp simd") for (int64_t ow = 0; ow < OW; ow++) {
                        int64_t pos = off + ws[ow];
                        float v = j < wc[ow] ? xp[pos] : -INFINITY;
                        /* NaN wins, as in PyTorch; the first of equal maxima stays */
                        bool take = j < wc[ow] && (ir[ow] < 0 || v > yr[ow] || isnan(v));
                        yr[ow] = take ? v : yr[ow];
                        ir[ow] = take ? pos : ir[ow];
                    }
                }
            }
        }
    });
}

static void max_backward(const struct pool_plan *pl, int64_t planes, const float *g,
                         const int64_t *idx, float *gx)
{
    int64_t HW = pl->H * pl->W, OHW = pl->OH * pl->OW;
    PARALLEL_FOR(planes > 1 && planes * OHW * 4 > PAR_MIN_ELEMS, t, planes, {
        const float *gp = g + t * OHW;
        const int64_t *ip = idx + t * OHW;
        float *gxp = gx + t * HW;
        for (int64_t o = 0; o < OHW; o++)
            if (ip[o] >= 0)
                gxp[ip[o]] += gp[o];
    });
}

static void avg_forward(const struct pool_plan *pl, int64_t planes, const float *x, float *y)
{
    int64_t HW = pl->H * pl->W, OHW = pl->OH * pl->OW;
    PARALLEL_FOR(planes > 1 && planes * OHW * 4 > PAR_MIN_ELEMS, t, planes, {
        const float *xp = x + t * HW;
        float *yp = y + t * OHW;
        for (int64_t oh = 0; oh < pl->OH; oh++)
            for (int64_t ow = 0; ow < pl->OW; ow++) {
                float sum = 0;
                for (int64_t h = pl->hs[oh]; h < pl->hs[oh] + pl->hc[oh]; h++) {
                    const float *r = xp + h * pl->W + pl->ws[ow];
                    for (int64_t j = 0; j < pl->wc[ow]; j++)
                        sum += r[j];
                }
                float div = pl->hdiv[oh] * pl->wdiv[ow];
                yp[oh * pl->OW + ow] = div > 0 ? sum / div : 0.0f;
            }
    });
}

static void avg_backward(const struct pool_plan *pl, int64_t planes, const float *g, float *gx)
{
    int64_t HW = pl->H * pl->W, OHW = pl->OH * pl->OW;
    PARALLEL_FOR(planes > 1 && planes * OHW * 4 > PAR_MIN_ELEMS, t, planes, {
        const float *gp = g + t * OHW;
        float *gxp = gx + t * HW;
        for (int64_t oh = 0; oh < pl->OH; oh++)
            for (int64_t ow = 0; ow < pl->OW; ow++) {
                float div = pl->hdiv[oh] * pl->wdiv[ow];
                if (!(div > 0))
                    continue;
                float v = gp[oh * pl->OW + ow] / div;
                for (int64_t h = pl->hs[oh]; h < pl->hs[oh] + pl->hc[oh]; h++) {
                    float *r = gxp + h * pl->W + pl->ws[ow];
                    for (int64_t j = 0; j < pl->wc[ow]; j++)
                        r[j] += v;
                }
            }
    });
}

/* ---- autograd ---- */

/* iarg[0]: 1 for max (saved[0] holds the argmax), 0 for average; ctx: the plan. */
static int pool_backward(struct ag_node *n, struct tensor *g, struct tensor **gi)
{
    const struct pool_plan *pl = n->ctx;
    struct tensor *idx = n->iarg[0] ? ag_saved(n, 0) : NULL;
    if (n->iarg[0] && !idx)
        return -1;
    struct tensor *gc = tensor_contiguous(g);
    gi[0] = gc ? tensor_zeros(DT_FLOAT32, n->in[0].ndim, n->in[0].shape) : NULL;
    if (gi[0]) {
        int64_t planes = n->in[0].shape[0] * n->in[0].shape[1];
        if (n->iarg[0])
            max_backward(pl, planes, tensor_f32(gc), tensor_i64(idx), tensor_f32(gi[0]));
        else
            avg_backward(pl, planes, tensor_f32(gc), tensor_f32(gi[0]));
    }
    tensor_release(gc);
    return gi[0] ? 0 : -1;
}

/* Runs the plan over x (checked 4-D float32) and records the node `name`. Takes the plan. If
 * idx_out is given (max only), also returns the argmax as int64 positions + index_base. */
static struct tensor *pool_run(const char *name, struct tensor *x, struct pool_plan *pl,
                               bool is_max, struct tensor **idx_out, int64_t index_base)
{
    int64_t shape[4] = {x->shape[0], x->shape[1], pl->OH, pl->OW}, planes = shape[0] * shape[1];
    struct tensor *xc = tensor_contiguous(x);
    struct tensor *y = xc ? tensor_new(DT_FLOAT32, 4, shape) : NULL;
    struct tensor *idx = y && is_max ? tensor_new(DT_INT64, 4, shape) : NULL;
    if (!y || (is_max && !idx)) {
        tensor_release(xc);
        tensor_release(y);
        plan_free(pl);
        return NULL;
    }
    if (is_max)
        max_forward(pl, planes, tensor_f32(xc), tensor_f32(y), tensor_i64(idx));
    else
        avg_forward(pl, planes, tensor_f32(xc), tensor_f32(y));
    tensor_release(xc);
    if (idx_out) {
        *idx_out = tensor_copy(idx);
        if (!*idx_out) {
            tensor_release(idx);
            tensor_release(y);
            plan_free(pl);
            return NULL;
        }
        int64_t *ip = tensor_i64(*idx_out), total = tensor_numel(idx);
        for (int64_t i = 0; i < total; i++)
            ip[i] += index_base;
    }
    struct ag_node *n = ag_record(&y, name, pool_backward, 1, &x);
    if (n) {
        n->iarg[0] = is_max;
        n->ctx = pl;
        n->ctx_free = plan_free;
        if (is_max)
            ag_save(n, idx);
    } else {
        plan_free(pl);
    }
    tensor_release(idx);
    if (!y && idx_out) {
        tensor_release(*idx_out);
        *idx_out = NULL;
    }
    return y;
}

/* ---- checks ---- */

static int check_input(const char *op, const struct tensor *x)
{
    if (nn_require_f32(op, "input", x) < 0)
        return -1;
    if (x->ndim != 4)
        return err_set("%s: input must be [N, C, H, W] (or [C, H, W]), got %s", op, tshape(x));
    if (x->shape[2] < 1 || x->shape[3] < 1)
        return err_set("%s: input %s has an empty spatial size", op, tshape(x));
    return 0;
}

/* PyTorch's pool2d_shape_check, then the output size; -1 with an error naming the input. */
static int pool_geometry(const char *op, const struct tensor *x, const struct pool2d_params *p,
                         bool dilated, int64_t out[2])
{
    if (check_input(op, x) < 0)
        return -1;
    for (int d = 0; d < 2; d++) {
        if (p->kernel[d] < 1 || p->stride[d] < 1 || (dilated && p->dilation[d] < 1))
            return err_set("%s: kernel, stride%s must be positive (kernel %dx%d, stride %dx%d)",
                           op, dilated ? " and dilation" : "", p->kernel[0], p->kernel[1],
                           p->stride[0], p->stride[1]);
        if (p->padding[d] < 0 || p->padding[d] > p->kernel[d] / 2)
            return err_set("%s: padding should be between 0 and half the kernel size (kernel "
                           "%dx%d, padding %dx%d)",
                           op, p->kernel[0], p->kernel[1], p->padding[0], p->padding[1]);
        out[d] = pool_out_size(x->shape[2 + d], p->kernel[d], p->padding[d], p->stride[d],
                               dilated ? p->dilation[d] : 1, p->ceil_mode);
    }
    if (out[0] < 1 || out[1] < 1)
        return err_set("%s: kernel %dx%d%s is larger than the padded input %s (output would be "
                       "%lldx%lld)",
                       op, p->kernel[0], p->kernel[1], dilated ? " (dilated)" : "", tshape(x),
                       (long long)out[0], (long long)out[1]);
    return 0;
}

/* ---- the ops ---- */

struct tensor *op_max_pool2d(struct tensor *x, const struct pool2d_params *p)
{
    int64_t out[2];
    if (pool_geometry("max_pool2d", x, p, true, out) < 0)
        return NULL;
    struct pool_plan *pl = plan_new("max_pool2d", x->shape[2], x->shape[3], out[0], out[1]);
    if (!pl)
        return NULL;
    pl->hstep = p->dilation[0];
    pl->wstep = p->dilation[1];
    for (int64_t o = 0; o < out[0]; o++)
        max_window(o, pl->H, p->kernel[0], p->stride[0], p->padding[0], p->dilation[0],
                   &pl->hs[o], &pl->hc[o]);
    for (int64_t o = 0; o < out[1]; o++)
        max_window(o, pl->W, p->kernel[1], p->stride[1], p->padding[1], p->dilation[1],
                   &pl->ws[o], &pl->wc[o]);
    return pool_run("MaxPool2dBackward", x, pl, true, NULL, 0);
}

struct tensor *op_avg_pool2d(struct tensor *x, const struct pool2d_params *p)
{
    int64_t out[2];
    if (pool_geometry("avg_pool2d", x, p, false, out) < 0)
        return NULL;
    struct pool_plan *pl = plan_new("avg_pool2d", x->shape[2], x->shape[3], out[0], out[1]);
    if (!pl)
        return NULL;
    for (int64_t o = 0; o < out[0]; o++)
        avg_window(o, pl->H, p->kernel[0], p->stride[0], p->padding[0], p->count_include_pad,
                   &pl->hs[o], &pl->hc[o], &pl->hdiv[o]);
    for (int64_t o = 0; o < out[1]; o++)
        avg_window(o, pl->W, p->kernel[1], p->stride[1], p->padding[1], p->count_include_pad,
                   &pl->ws[o], &pl->wc[o], &pl->wdiv[o]);
    return pool_run("AvgPool2dBackward", x, pl, false, NULL, 0);
}

static struct pool_plan *adaptive_plan(const char *op, const struct tensor *x, int64_t oh,
                                       int64_t ow)
{
    if (check_input(op, x) < 0)
        return NULL;
    if (oh < 1 || ow < 1) {
        err_set("%s: output size must be positive, got %lldx%lld", op, (long long)oh,
                (long long)ow);
        return NULL;
    }
    struct pool_plan *pl = plan_new(op, x->shape[2], x->shape[3], oh, ow);
    if (!pl)
        return NULL;
    for (int64_t o = 0; o < oh; o++)
        adaptive_window(o, pl->H, oh, &pl->hs[o], &pl->hc[o], &pl->hdiv[o]);
    for (int64_t o = 0; o < ow; o++)
        adaptive_window(o, pl->W, ow, &pl->ws[o], &pl->wc[o], &pl->wdiv[o]);
    return pl;
}

struct tensor *op_adaptive_avg_pool2d(struct tensor *x, int64_t oh, int64_t ow)
{
    struct pool_plan *pl = adaptive_plan("adaptive_avg_pool2d", x, oh, ow);
    return pl ? pool_run("AdaptiveAvgPool2dBackward", x, pl, false, NULL, 0) : NULL;
}

struct tensor *op_adaptive_max_pool2d(struct tensor *x, int64_t oh, int64_t ow,
                                      struct tensor **idx, int64_t index_base)
{
    struct pool_plan *pl = adaptive_plan("adaptive_max_pool2d", x, oh, ow);
    return pl ? pool_run("AdaptiveMaxPool2dBackward", x, pl, true, idx, index_base) : NULL;
}
