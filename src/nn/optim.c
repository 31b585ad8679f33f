/* optim.c — the optimizer steps: one fused loop per parameter updating it and its state in
 * place, split over OpenMP threads in blocks of consecutive elements.
 *
 * The arithmetic follows torch.optim 1.13's single-tensor (non-foreach, non-capturable) path
 * step for step, in float32 with the scalar coefficients rounded to float as torch's CPU
 * kernels round them:
 *   SGD:   d = g + wd p;  buf = d (first step) or momentum buf + (1 - dampening) d;
 *          d = d + momentum buf (nesterov) or buf;  p -= lr d
 *   Adam:  g = g + wd p (L2; decoupled = false)  or  p *= 1 - lr wd (AdamW; decoupled = true)
 *          m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
 *          p -= (lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps),  bc_i = 1 - b_i^step
 * so eps is added after the bias correction of sqrt(v), as torch does.
 *
 * These are the parameter updates of an optimizer, run under no-grad semantics by design: they
 * write leaves that require grad (bypassing ag_check_inplace) and bump the storage version, so
 * a graph that saved a parameter before the step refuses to backpropagate through it. */
#include "loupe/core.h"
#include "loupe/nn.h"
#include "nn_util.h"
#include "../strided.h"

#include <math.h>

/* elements per task: long enough to amortise the scheduling, short enough to balance */
#define OPTIM_BLOCK 8192

/* -1 with an error unless t is a contiguous float32 tensor of p's shape. */
static int check_state(const char *op, const char *what, const struct tensor *t,
                       const struct tensor *p)
{
    if (nn_require_f32(op, what, t) < 0)
        return -1;
    if (!tensor_same_shape(t, p))
        return err_set("%s: %s %s does not match the parameter %s", op, what, tshape(t),
                       tshape(p));
    if (!tensor_is_contiguous(t))
        return err_set("%s: %s %s must be contiguous", op, what, tshape(t));
    return 0;
}

/* Common checks; returns a contiguous view of g (owned) or NULL. */
static struct tensor *check_param(const char *op, struct tensor *p, struct tensor *g,
                                  double lr, int64_t step)
{
    if (check_state(op, "parameter", p, p) < 0 || nn_require_f32(op, "gradient", g) < 0)
        return NULL;
    if (!tensor_same_shape(g, p)) {
        err_set("%s: gradient %s does not match the parameter %s", op, tshape(g), tshape(p));
        return NULL;
    }
    if (!(lr >= 0)) {
        err_set("%s: invalid learning rate %g", op, lr);
        return NULL;
    }
    if (step < 1) {
        err_set("%s: step must count from 1, got %lld", op, (long long)step);
        return NULL;
    }
    return tensor_contiguous(g);
}

int optim_sgd_step(struct tensor *p, struct tensor *g, struct tensor *buf, double lr,
                   double momentum, double dampening, double weight_decay, bool nesterov,
                   int64_t step)
{
    const char *op = "sgd_step";
    if (momentum != 0 && !buf)
        return err_set("%s: momentum %g needs a momentum buffer", op, momentum);
    if (nesterov && (momentum <= 0 || dampening != 0))
        return err_set("%s: nesterov momentum requires a momentum and zero dampening", op);
    struct tensor *gc = check_param(op, p, g, lr, step);
    if (!gc)
        return -1;
    if (momentum != 0 && check_state(op, "momentum buffer", buf, p) < 0) {
        tensor_release(gc);
        return -1;
    }
    float *pd = tensor_f32(p), *bd = momentum != 0 ? tensor_f32(buf) : NULL;
    const float *gd = tensor_f32(gc);
    const float flr = (float)lr, wd = (float)weight_decay, mom = (float)momentum;
    const float damp = (float)(1 - dampening);
    const bool first = step == 1;
    int64_t n = tensor_numel(p), nblocks = (n + OPTIM_BLOCK - 1) / OPTIM_BLOCK;
    PARALLEL_FOR(n > PAR_MIN_ELEMS, blk, nblocks, {
        int64_t lo = blk * OPTIM_BLOCK, hi = lo + OPTIM_BLOCK < n ? lo + OPTIM_BLOCK : n;
        if (!bd) {
            _Pragma("omp simd") for (int64_t i = lo; i < hi; i++) {
                float d = gd[i] + wd * pd[i];
                pd[i] -= flr * d;
            }
        } else {
            _Pragma("omp simd") for (int64_t i = lo; i < hi; i++) {
                float d = gd[i] + wd * pd[i];
                float b = first ? d : mom * bd[i] + damp * d;
                bd[i] = b;
                pd[i] -= flr * (nesterov ? d + mom * b : b);
            }
        }
    });
    tensor_release(gc);
    tensor_bump_version(p);
    if (bd)
        tensor_bump_version(buf);
    return 0;
}

int optim_adam_step(struct tensor *p, struct tensor *g, struct tensor *m, struct tensor *v,
                    double lr, double beta1, double beta2, double eps, double weight_decay,
                    bool decoupled, int64_t step)
{
    const char *op = decoupled ? "adamw_step" : "adam_step";
    if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1))
        return err_set("%s: betas must be in [0, 1), got (%g, %g)", op, beta1, beta2);
    if (!(eps >= 0))
        return err_set("%s: invalid eps %g", op, eps);
    struct tensor *gc = check_param(op, p, g, lr, step);
    if (!gc)
        return -1;
    if (check_state(op, "exp_avg", m, p) < 0 || check_state(op, "exp_avg_sq", v, p) < 0) {
        tensor_release(gc);
        return -1;
    }
    double bc1 = 1 - pow(beta1, (double)step), bc2 = 1 - pow(beta2, (double)step);
    const float step_size = (float)(lr / bc1), bc2_sqrt = (float)sqrt(bc2);
    const float b1 = (float)beta1, b2 = (float)beta2, c1 = (float)(1 - beta1);
    const float c2 = (float)(1 - beta2), feps = (float)eps;
    /* L2 weight decay goes into the gradient; decoupled decay scales the parameter first */
    const float l2 = decoupled ? 0.0f : (float)weight_decay;
    const float shrink = decoupled ? (float)(1 - lr * weight_decay) : 1.0f;
    float *pd = tensor_f32(p), *md = tensor_f32(m), *vd = tensor_f32(v);
    const float *gd = tensor_f32(gc);
    int64_t n = tensor_numel(p), nblocks = (n + OPTIM_BLOCK - 1) / OPTIM_BLOCK;
    PARALLEL_FOR(n > PAR_MIN_ELEMS, blk, nblocks, {
        int64_t lo = blk * OPTIM_BLOCK, hi = lo + OPTIM_BLOCK < n ? lo + OPTIM_BLOCK : n;
        _Pragma("omp simd") for (int64_t i = lo; i < hi; i++) {
            float pi = pd[i] * shrink;
            float gi = gd[i] + l2 * pi;
            float mi = b1 * md[i] + c1 * gi;
            float vi = b2 * vd[i] + c2 * gi * gi;
            md[i] = mi;
            vd[i] = vi;
            pd[i] = pi - step_size * mi / (sqrtf(vi) / bc2_sqrt + feps);
        }
    });
    tensor_release(gc);
    tensor_bump_version(p);
    tensor_bump_version(m);
    tensor_bump_version(v);
    return 0;
}
