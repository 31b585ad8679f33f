/* batchnorm.c — batch normalisation over dim 1 of x [N, C] or [N, C, *] (PyTorch semantics).
 *
 * x is viewed as [N, C, S]. Training: per-channel batch mean and biased variance normalise
 * x, and the running statistics (if given) move by `momentum` towards the batch mean and the
 * *unbiased* variance, in place (their storage version is bumped, as for any in-place write).
 * Eval: the running statistics normalise x. The output is one fused pass
 * y = x·scale[c] + shift[c]. Channel sums are taken in double.
 *
 * Backward with xhat = (x - mean)·invstd, M = N·S values per channel, w = weight (or 1):
 *     gb = Σ g,  gw = Σ g·xhat
 *     training: gx = w·invstd·(g - Σg/M - xhat·Σ(g·xhat)/M)   (the batch statistics depend on x)
 *     eval:     gx = g·w·invstd                               (an affine map) */
#include "loupe/autograd.h"
#include "loupe/core.h"
#include "loupe/nn.h"
#include "nn_util.h"
#include "../strided.h"

#include <math.h>
#include <stdlib.h>

struct bn_dims {
    int64_t N, C, S;
};

/* Per channel: sum of g and of g·(x - mean), over n and s. */
static void channel_sums(double *sg, double *sgx, const float *g, const float *x,
                         const float *mean, const struct bn_dims *d)
{
    PARALLEL_FOR(d->N * d->C * d->S > PAR_MIN_ELEMS && d->C > 1, c, d->C, {
        double a = 0, b = 0, m = mean[c];
        for (int64_t n = 0; n < d->N; n++) {
            const float *gr = g + (n * d->C + c) * d->S, *xr = x + (n * d->C + c) * d->S;
            _Pragma("omp simd reduction(+ : a, b)") for (int64_t s = 0; s < d->S; s++) {
                a += gr[s];
                b += gr[s] * (xr[s] - m);
            }
        }
        sg[c] = a;
        sgx[c] = b;
    });
}

static int bn_backward(struct ag_node *n, struct tensor *g, struct tensor **gi)
{
    struct tensor *x = ag_saved(n, 0), *mean_t = ag_saved(n, 1), *invstd_t = ag_saved(n, 2);
    struct tensor *w = n->iarg[1] ? ag_saved(n, 3) : NULL;
    if (!x || !mean_t || !invstd_t || (n->iarg[1] && !w))
        return -1;
    struct bn_dims d = {n->iarg[2], n->iarg[3], n->iarg[4]};
    bool training = n->iarg[0];
    struct tensor *gc = tensor_contiguous(g);
    double *sums = gc ? malloc(sizeof(double) * 2 * (size_t)d.C) : NULL;
    if (!sums) {
        tensor_release(gc);
        return gc ? err_set("batch_norm: out of memory") : -1;
    }
    double *sg = sums, *sgx = sums + d.C;
    const float *gp = tensor_f32(gc), *xp = tensor_f32(x), *mean = tensor_f32(mean_t);
    const float *invstd = tensor_f32(invstd_t), *wp = w ? tensor_f32(w) : NULL;
    channel_sums(sg, sgx, gp, xp, mean, &d);
    int rc = 0;
    if (ag_needs(n, 1) && (gi[1] = tensor_new(DT_FLOAT32, 1, &d.C)))
        for (int64_t c = 0; c < d.C; c++)
            tensor_f32(gi[1])[c] = (float)(sgx[c] * invstd[c]);
    if (ag_needs(n, 2) && (gi[2] = tensor_new(DT_FLOAT32, 1, &d.C)))
        for (int64_t c = 0; c < d.C; c++)
            tensor_f32(gi[2])[c] = (float)sg[c];
    if ((ag_needs(n, 1) && !gi[1]) || (ag_needs(n, 2) && !gi[2]))
        rc = -1;
    if (rc == 0 && ag_needs(n, 0) && (gi[0] = tensor_new(DT_FLOAT32, x->ndim, x->shape))) {
        float *gx = tensor_f32(gi[0]);
        double M = (double)(d.N * d.S);
        PARALLEL_FOR(d.N * d.C * d.S > PAR_MIN_ELEMS, t, d.N * d.C, {
            int64_t c = t % d.C;
            float k = (float)invstd[c] * (wp ? wp[c] : 1.0f), m = mean[c];
            const float *gr = gp + t * d.S, *xr = xp + t * d.S;
            float *o = gx + t * d.S;
            if (training) {
                /* gx = k (g - a - (x - mean) b) with a = Σg/M, b = Σg(x-mean)·invstd²/M */
                float a = (float)(sg[c] / M), b = (float)(sgx[c] * invstd[c] * invstd[c] / M);
                _Pragma("omp simd") for (int64_t s = 0; s < d.S; s++)
                    o[s] = k * (gr[s] - a - (xr[s] - m) * b);
            } else {
                _Pragma("omp simd") for (int64_t s = 0; s < d.S; s++) o[s] = k * gr[s];
            }
        });
    } else if (rc == 0 && ag_needs(n, 0)) {
        rc = -1;
    }
    free(sums);
    tensor_release(gc);
    return rc;
}

/* -1 unless t (named what) is NULL or a float32 [C]. */
static int check_channel_vec(const char *what, const struct tensor *t, const struct tensor *x)
{
    if (!t)
        return 0;
    if (nn_require_f32("batch_norm", what, t) < 0)
        return -1;
    if (t->ndim != 1 || t->shape[0] != x->shape[1])
        return err_set("batch_norm: %s %s does not match the %lld channels of input %s", what,
                       tshape(t), (long long)x->shape[1], tshape(x));
    return 0;
}

/* mean and invstd [C] of the batch (training) into m, is; biased variance into var. */
static void batch_stats(float *m, float *is, double *var, const float *x,
                        const struct bn_dims *d, double eps)
{
    double M = (double)(d->N * d->S);
    PARALLEL_FOR(d->N * d->C * d->S > PAR_MIN_ELEMS && d->C > 1, c, d->C, {
        double sum = 0;
        for (int64_t n = 0; n < d->N; n++) {
            const float *r = x + (n * d->C + c) * d->S;
            _Pragma("omp simd reduction(+ : sum)") for (int64_t s = 0; s < d->S; s++) sum += r[s];
        }
        double mu = sum / M, ss = 0;
        for (int64_t n = 0; n < d->N; n++) {
            const float *r = x + (n * d->C + c) * d->S;
            _Pragma("omp simd reduction(+ : ss)") for (int64_t s = 0; s < d->S; s++) {
                double v = r[s] - mu;
                ss += v * v;
            }
        }
        var[c] = ss / M;
        m[c] = (float)mu;
        is[c] = (float)(1.0 / sqrt(ss / M + eps));
    });
}

struct tensor *op_batch_norm(struct tensor *x, struct tensor *weight, struct tensor *bias,
                             struct tensor *running_mean, struct tensor *running_var,
                             bool training, double momentum, double eps)
{
    if (nn_require_f32("batch_norm", "input", x) < 0)
        return NULL;
    if (x->ndim < 2) {
        err_set("batch_norm: input must be [N, C] or [N, C, *], got %s", tshape(x));
        return NULL;
    }
    if (check_channel_vec("weight", weight, x) < 0 || check_channel_vec("bias", bias, x) < 0 ||
        check_channel_vec("running_mean", running_mean, x) < 0 ||
        check_channel_vec("running_var", running_var, x) < 0)
        return NULL;
    if (!running_mean != !running_var) {
        err_set("batch_norm: running_mean and running_var must be given together");
        return NULL;
    }
    if (!training && !running_mean) {
        err_set("batch_norm: eval mode needs running_mean and running_var (input %s)",
                tshape(x));
        return NULL;
    }
    struct bn_dims d = {x->shape[0], x->shape[1], 1};
    for (int k = 2; k < x->ndim; k++)
        d.S *= x->shape[k];
    if (training && d.N * d.S <= 1) {
        err_set("batch_norm: expected more than 1 value per channel when training (input %s)",
                tshape(x));
        return NULL;
    }
    if (training && running_mean &&
        (ag_check_inplace("batch_norm", running_mean) < 0 ||
         ag_check_inplace("batch_norm", running_var) < 0))
        return NULL;

    struct tensor *xc = tensor_contiguous(x);
    struct tensor *mean_t = xc ? tensor_new(DT_FLOAT32, 1, &d.C) : NULL;
    struct tensor *invstd_t = mean_t ? tensor_new(DT_FLOAT32, 1, &d.C) : NULL;
    struct tensor *wc = invstd_t && weight ? tensor_contiguous(weight) : NULL;
    struct tensor *y = invstd_t && (wc || !weight) ? tensor_new(DT_FLOAT32, x->ndim, x->shape)
                                                   : NULL;
    double *var = y ? malloc(sizeof(double) * (size_t)(d.C ? d.C : 1)) : NULL;
    float *scale = var ? malloc(sizeof(float) * 2 * (size_t)(d.C ? d.C : 1)) : NULL;
    if (!scale) {
        if (y)
            err_set("batch_norm: out of memory");
        free(var);
        tensor_release(y);
        y = NULL;
        goto out;
    }
    float *mean = tensor_f32(mean_t), *invstd = tensor_f32(invstd_t), *shift = scale + d.C;
    if (training) {
        batch_stats(mean, invstd, var, tensor_f32(xc), &d, eps);
        if (running_mean) {
            double unbias = (double)(d.N * d.S) / (double)(d.N * d.S - 1);
            float *rm = tensor_f32(running_mean), *rv = tensor_f32(running_var);
            int64_t sm = running_mean->stride[0], sv = running_var->stride[0];
            for (int64_t c = 0; c < d.C; c++) {
                rm[c * sm] = (float)((1 - momentum) * rm[c * sm] + momentum * mean[c]);
                rv[c * sv] = (float)((1 - momentum) * rv[c * sv] + momentum * var[c] * unbias);
            }
            tensor_bump_version(running_mean);
            tensor_bump_version(running_var);
        }
    } else {
        const float *rm = tensor_f32(running_mean), *rv = tensor_f32(running_var);
        for (int64_t c = 0; c < d.C; c++) {
            mean[c] = rm[c * running_mean->stride[0]];
            invstd[c] = (float)(1.0 / sqrt((double)rv[c * running_var->stride[0]] + eps));
        }
    }
    for (int64_t c = 0; c < d.C; c++) {
        double w = wc ? tensor_f32(wc)[c] : 1.0;
        double b = bias ? tensor_get_flat(bias, c) : 0.0;
        scale[c] = (float)(invstd[c] * w);
        shift[c] = (float)(b - mean[c] * invstd[c] * w);
    }
    const float *xp = tensor_f32(xc);
    float *yp = tensor_f32(y);
    PARALLEL_FOR(d.N * d.C * d.S > PAR_MIN_ELEMS, t, d.N * d.C, {
        int64_t c = t % d.C;
        float k = scale[c], s0 = shift[c];
        const float *r = xp + t * d.S;
        float *o = yp + t * d.S;
        _Pragma("omp simd") for (int64_t s = 0; s < d.S; s++) o[s] = r[s] * k + s0;
    });
    free(var);
    free(scale);

    struct tensor *ins[3] = {x, weight, bias};
    struct ag_node *n = ag_record(&y, "BatchNormBackward", bn_backward, 3, ins);
    if (n) {
        n->iarg[0] = training;
        n->iarg[1] = weight != NULL;
        n->iarg[2] = d.N;
        n->iarg[3] = d.C;
        n->iarg[4] = d.S;
        ag_save(n, xc);
        ag_save(n, mean_t);
        ag_save(n, invstd_t);
        if (wc)
            ag_save(n, wc);
    }
out:
    tensor_release(xc);
    tensor_release(mean_t);
    tensor_release(invstd_t);
    tensor_release(wc);
    return y;
}
