/* loss.c — the losses: cross_entropy (fused log-softmax + NLL), nll_loss, mse_loss and
 * binary_cross_entropy_with_logits, each with reductions none / mean / sum and a fused
 * backward kernel, as PyTorch 1.13 defines them.
 *
 * Class-indexed losses view the input as [N, C, inner] (inner = product of the dims after the
 * class dim, 1 for [N, C]; a 1-D input [C] is one sample) and the target as [N, inner]: each
 * "position" j in [0, N*inner) has C scores at stride inner. Per-position work is done in
 * double and summed in double; the float32 result is rounded once.
 *
 * Cross-entropy with class weights w and label smoothing eps, per position with target t and
 * log-probabilities lp = x - lse:
 *     loss_j = (1 - eps) * w_t * (-lp_t) + eps / C * sum_c w_c * (-lp_c)
 * and reduction "mean" divides the sum over positions by sum_j w_{t_j} (the number of
 * positions without weights): PyTorch's weighted mean, which 1.13 also applies to the
 * smoothing term. The gradient with respect to x is, with p = softmax(x),
 *     d loss_j / d x_c = p_c ((1 - eps) w_t + eps/C sum(w)) - ((1 - eps) w_t [c == t] + eps/C w_c)
 * i.e. softmax minus the smoothed one-hot target when there are no weights. The backward pass
 * recomputes p from the saved log-sum-exp, so nothing of size N*C is kept besides the input.
 *
 * Gradients flow to the scores (cross_entropy, nll_loss), to both arguments (mse_loss) and to
 * the logits and the targets (bce_with_logits), as in PyTorch; none to class weights or
 * pos_weight. The backward kernels are not themselves differentiable (no double backward). */
#include "loupe/autograd.h"
#include "loupe/core.h"
#include "loupe/nn.h"
#include "nn_util.h"
#include "../strided.h"

#include <math.h>

/* ---- shared: reductions and the class-indexed layout ---- */

static int check_reduction(const char *op, enum reduction red)
{
    if (red != RED_NONE && red != RED_MEAN && red != RED_SUM)
        return err_set("%s: unknown reduction %d", op, (int)red);
    return 0;
}

/* The reduced result of per-element losses `loss` (n values): the tensor itself for
 * RED_NONE, else a 0-d tensor holding sum / denom (denom = 1 for RED_SUM). Takes loss. */
static struct tensor *reduce_loss(struct tensor *loss, enum reduction red, double denom)
{
    if (!loss || red == RED_NONE)
        return loss;
    const float *l = tensor_f32(loss);
    double s = 0;
    for (int64_t i = 0, n = tensor_numel(loss); i < n; i++)
        s += l[i];
    tensor_release(loss);
    return tensor_scalar((float)(red == RED_MEAN ? s / denom : s));
}

/* The gradient arriving at a reduced loss as per-position scales: scale[j] = g[j] for
 * RED_NONE (g contiguous, of the loss's shape), else g / denom (mean) or g (sum) for every
 * j. Returns a contiguous tensor to read g from (owned) and sets *uniform for the reduced
 * cases; NULL on error. */
static struct tensor *grad_scales(struct tensor *g, enum reduction red, double denom,
                                  double *uniform)
{
    if (red == RED_NONE)
        return tensor_contiguous(g);
    double v = *tensor_f32(g);
    *uniform = red == RED_MEAN ? v / denom : v;
    return tensor_retain(g);
}

struct cls_layout {
    int64_t N, C, inner, npos;
};

/* Checks scores x ([N, C, *] or [C]), target (int64, [N, *] or 0-d) and weight ([C] or NULL)
 * for op and fills the layout. */
static int check_class_inputs(const char *op, const struct tensor *x, const struct tensor *target,
                              const struct tensor *weight, struct cls_layout *L)
{
    if (nn_require_f32(op, "input", x) < 0)
        return -1;
    if (target->dtype != DT_INT64)
        return err_set("%s: target must hold int64 class labels, got %s %s (convert with "
                       ":long())", op, dtype_name(target->dtype), tshape(target));
    if (x->ndim < 1)
        return err_set("%s: input must be [N, C, ...] or [C], got a 0-d tensor", op);
    bool batched = x->ndim >= 2;
    L->N = batched ? x->shape[0] : 1;
    L->C = x->shape[batched ? 1 : 0];
    L->inner = 1;
    for (int d = 2; d < x->ndim; d++)
        L->inner *= x->shape[d];
    L->npos = L->N * L->inner;
    /* the target's shape is the input's without the class dim */
    int64_t want[TENSOR_MAXDIM];
    int nw = 0;
    for (int d = 0; d < x->ndim; d++)
        if (d != (batched ? 1 : 0))
            want[nw++] = x->shape[d];
    bool ok = target->ndim == nw;
    for (int d = 0; ok && d < nw; d++)
        ok = target->shape[d] == want[d];
    if (!ok)
        return err_set("%s: target %s does not match input %s (expected target %s)", op,
                       tshape(target), tshape(x), shape_fmt(nw, want));
    if (weight) {
        if (nn_require_f32(op, "weight", weight) < 0)
            return -1;
        if (weight->ndim != 1 || weight->shape[0] != L->C)
            return err_set("%s: weight %s does not match %lld classes (expected [%lld])", op,
                           tshape(weight), (long long)L->C, (long long)L->C);
    }
    return 0;
}

/* Checks every (contiguous) target against the class count (base = the first valid label)
 * and returns in *wsum the sum over positions of w[t] (the position count without weights):
 * the denominator of the "mean" reduction. Runs before any kernel, so kernels index freely. */
static int check_targets(const char *op, const int64_t *tg, int64_t base, const float *w,
                         const struct cls_layout *L, double *wsum)
{
    double s = 0;
    for (int64_t j = 0; j < L->npos; j++) {
        int64_t t = tg[j] - base;
        if (t < 0 || t >= L->C)
            return err_set("%s: target %lld is out of range for %lld classes (valid labels "
                           "are %lld..%lld)", op, (long long)tg[j], (long long)L->C,
                           (long long)base, (long long)(L->C - 1 + base));
        s += w ? w[t] : 1.0;
    }
    *wsum = s;
    return 0;
}

/* The output shape of a class-indexed loss with reduction none: the target's. */
static struct tensor *new_position_tensor(const struct tensor *target)
{
    return tensor_new(DT_FLOAT32, target->ndim, target->shape);
}

/* ---- cross_entropy ---- */

/* loss[j] and lse[j] for every position (see the header for the formula). */
static void ce_forward_run(float *loss, double *lse_out, const float *x, const int64_t *tg,
                           int64_t base, const float *w, const struct cls_layout *L, double eps)
{
    int64_t C = L->C, inner = L->inner;
    double wtot = 0;
    if (w)
        for (int64_t c = 0; c < C; c++)
            wtot += w[c];
    else
        wtot = (double)C;
    PARALLEL_FOR(L->npos * C > PAR_MIN_ELEMS && L->npos > 1, j, L->npos, {
        const float *xs = x + (j / inner) * C * inner + j % inner;
        float mx = -INFINITY;
        for (int64_t c = 0; c < C; c++)
            mx = xs[c * inner] > mx ? xs[c * inner] : mx;
        if (isinf(mx) && mx < 0)
            mx = 0; /* all -inf: no inf - inf */
        double se = 0, wx = 0;
        for (int64_t c = 0; c < C; c++) {
            double v = xs[c * inner];
            se += exp(v - mx);
            wx += (w ? w[c] : 1.0) * v;
        }
        double lse = log(se) + mx;
        int64_t t = tg[j] - base;
        double wt = w ? w[t] : 1.0;
        double nll = wt * (lse - xs[t * inner]);
        double l = (1 - eps) * nll;
        if (eps != 0)
            l += eps / (double)C * (wtot * lse - wx);
        loss[j] = (float)l;
        lse_out[j] = lse;
    });
}

static int ce_backward(struct ag_node *n, struct tensor *g, struct tensor **gi)
{
    struct tensor *x = ag_saved(n, 0), *target = ag_saved(n, 1), *lse = ag_saved(n, 2);
    struct tensor *weight = n->iarg[5] ? ag_saved(n, 3) : NULL;
    if (!x || !target || !lse || (n->iarg[5] && !weight))
        return -1;
    struct cls_layout L = {n->iarg[0], n->iarg[1], n->iarg[2], n->iarg[0] * n->iarg[2]};
    enum reduction red = (enum reduction)n->iarg[3];
    int64_t base = n->iarg[4];
    double eps = n->farg[0], uniform = 0;
    struct tensor *gs = grad_scales(g, red, n->farg[1], &uniform);
    struct tensor *gx = gs ? tensor_new(DT_FLOAT32, n->in[0].ndim, n->in[0].shape) : NULL;
    if (!gx) {
        tensor_release(gs);
        return -1;
    }
    const double *ld = (const double *)tensor_data(lse);
    const float *xd = tensor_f32(x), *w = weight ? tensor_f32(weight) : NULL;
    const float *gd = tensor_f32(gs);
    const int64_t *tg = tensor_i64(target);
    float *o = tensor_f32(gx);
    int64_t C = L.C, inner = L.inner;
    double wtot = 0;
    if (w)
        for (int64_t c = 0; c < C; c++)
            wtot += w[c];
    PARALLEL_FOR(L.npos * C > PAR_MIN_ELEMS && L.npos > 1, j, L.npos, {
        int64_t off = (j / inner) * C * inner + j % inner, t = tg[j] - base;
        double s = red == RED_NONE ? gd[j] : uniform;
        double wt = w ? w[t] : 1.0;
        /* s * (p_c * a - b_c): a is per position, b_c holds the smoothed one-hot target */
        double a = w ? (1 - eps) * wt + eps / (double)C * wtot : 1.0;
        double e = eps / (double)C;
        double lse_j = ld[j];
        for (int64_t c = 0; c < C; c++) {
            double p = exp((double)xd[off + c * inner] - lse_j);
            double b = e * (w ? w[c] : 1.0) + (c == t ? (1 - eps) * wt : 0.0);
            o[off + c * inner] = (float)(s * (p * a - b));
        }
    });
    tensor_release(gs);
    gi[0] = gx;
    return 0;
}

/* Contiguous target and weight (NULL if none) for a class-indexed loss, after the shape
 * checks and the target range check; 0 or -1 (nothing held). */
static int class_operands(const char *op, struct tensor *x, struct tensor *target, int64_t base,
                          struct tensor *weight, enum reduction red, struct cls_layout *L,
                          struct tensor **tc, struct tensor **wc, double *wsum)
{
    *tc = *wc = NULL;
    if (check_reduction(op, red) < 0 || check_class_inputs(op, x, target, weight, L) < 0)
        return -1;
    *tc = tensor_contiguous(target);
    *wc = *tc && weight ? tensor_contiguous(weight) : NULL;
    if (!*tc || (weight && !*wc) ||
        check_targets(op, tensor_i64(*tc), base, *wc ? tensor_f32(*wc) : NULL, L, wsum) < 0) {
        tensor_release(*tc);
        tensor_release(*wc);
        *tc = *wc = NULL;
        return -1;
    }
    return 0;
}

static void set_class_args(struct ag_node *n, const struct cls_layout *L, enum reduction red,
                           int64_t base, bool has_weight, double wsum)
{
    int64_t args[] = {L->N, L->C, L->inner, red, base, has_weight};
    for (size_t i = 0; i < sizeof args / sizeof *args; i++)
        n->iarg[i] = args[i];
    n->farg[1] = wsum;
}

struct tensor *op_cross_entropy(struct tensor *logits, struct tensor *target, int64_t index_base,
                                struct tensor *weight, enum reduction red,
                                double label_smoothing)
{
    const char *op = "cross_entropy";
    if (!(label_smoothing >= 0 && label_smoothing <= 1)) {
        err_set("%s: label_smoothing must be in [0, 1], got %g", op, label_smoothing);
        return NULL;
    }
    struct cls_layout L;
    struct tensor *tc, *wc;
    double wsum;
    if (class_operands(op, logits, target, index_base, weight, red, &L, &tc, &wc, &wsum) < 0)
        return NULL;
    struct tensor *xc = tensor_contiguous(logits);
    struct tensor *loss = xc ? new_position_tensor(target) : NULL;
    /* log-sum-exp per position for the backward pass, kept in double (a float32 lse would
     * put a relative error of ~1e-7 * |lse| on every recomputed probability): the int64
     * tensor only provides 8-byte storage */
    struct tensor *lse = loss ? tensor_new(DT_INT64, 1, &L.npos) : NULL;
    struct tensor *out = NULL;
    if (lse) {
        ce_forward_run(tensor_f32(loss), (double *)tensor_data(lse), tensor_f32(xc), tensor_i64(tc),
                       index_base, wc ? tensor_f32(wc) : NULL, &L, label_smoothing);
        out = reduce_loss(loss, red, wsum);
        loss = NULL;
    }
    struct ag_node *n = out ? ag_record(&out, "CrossEntropyBackward", ce_backward, 1, &logits)
                            : NULL;
    if (n) {
        set_class_args(n, &L, red, index_base, wc != NULL, wsum);
        n->farg[0] = label_smoothing;
        ag_save(n, xc);
        ag_save(n, tc);
        ag_save(n, lse);
        if (wc)
            ag_save(n, wc);
    }
    tensor_release(loss);
    tensor_release(lse);
    tensor_release(wc);
    tensor_release(tc);
    tensor_release(xc);
    return out;
}

/* ---- nll_loss ---- */

static int nll_backward(struct ag_node *n, struct tensor *g, struct tensor **gi)
{
    struct tensor *target = ag_saved(n, 0);
    struct tensor *weight = n->iarg[5] ? ag_saved(n, 1) : NULL;
    if (!target || (n->iarg[5] && !weight))
        return -1;
    int64_t C = n->iarg[1], inner = n->iarg[2], npos = n->iarg[0] * inner, base = n->iarg[4];
    enum reduction red = (enum reduction)n->iarg[3];
    double uniform = 0;
    struct tensor *gs = grad_scales(g, red, n->farg[1], &uniform);
    struct tensor *gx = gs ? tensor_zeros(DT_FLOAT32, n->in[0].ndim, n->in[0].shape) : NULL;
    if (!gx) {
        tensor_release(gs);
        return -1;
    }
    const int64_t *tg = tensor_i64(target);
    const float *w = weight ? tensor_f32(weight) : NULL, *gd = tensor_f32(gs);
    float *o = tensor_f32(gx);
    for (int64_t j = 0; j < npos; j++) {
        int64_t t = tg[j] - base;
        double s = red == RED_NONE ? gd[j] : uniform;
        o[((j / inner) * C + t) * inner + j % inner] = (float)(-s * (w ? w[t] : 1.0));
    }
    tensor_release(gs);
    gi[0] = gx;
    return 0;
}

struct tensor *op_nll_loss(struct tensor *logp, struct tensor *target, int64_t index_base,
                           struct tensor *weight, enum reduction red)
{
    const char *op = "nll_loss";
    struct cls_layout L;
    struct tensor *tc, *wc;
    double wsum;
    if (class_operands(op, logp, target, index_base, weight, red, &L, &tc, &wc, &wsum) < 0)
        return NULL;
    struct tensor *xc = tensor_contiguous(logp);
    struct tensor *loss = xc ? new_position_tensor(target) : NULL;
    struct tensor *out = NULL;
    if (loss) {
        /* one read per position: too little work for threads */
        const int64_t *tg = tensor_i64(tc);
        const float *w = wc ? tensor_f32(wc) : NULL, *x = tensor_f32(xc);
        float *l = tensor_f32(loss);
        for (int64_t j = 0; j < L.npos; j++) {
            int64_t t = tg[j] - index_base;
            int64_t at = ((j / L.inner) * L.C + t) * L.inner + j % L.inner;
            l[j] = (float)(-(w ? w[t] : 1.0) * x[at]);
        }
        out = reduce_loss(loss, red, wsum);
        loss = NULL;
    }
    struct ag_node *n = out ? ag_record(&out, "NllLossBackward", nll_backward, 1, &logp) : NULL;
    if (n) {
        set_class_args(n, &L, red, index_base, wc != NULL, wsum);
        ag_save(n, tc);
        if (wc)
            ag_save(n, wc);
    }
    tensor_release(loss);
    tensor_release(xc);
    tensor_release(wc);
    tensor_release(tc);
    return out;
}

/* ---- elementwise losses: mse_loss, bce_with_logits ---- */

/* Both float32 and of the same shape (PyTorch broadcasts here with a warning that it is
 * "likely to lead to incorrect results"; loupe refuses). */
static int check_pair(const char *op, const struct tensor *a, const struct tensor *b)
{
    if (nn_require_f32(op, "input", a) < 0 || nn_require_f32(op, "target", b) < 0)
        return -1;
    if (!tensor_same_shape(a, b))
        return err_set("%s: input %s and target %s must have the same shape", op, tshape(a),
                       tshape(b));
    return 0;
}

static int mse_backward(struct ag_node *n, struct tensor *g, struct tensor **gi)
{
    struct tensor *diff = ag_saved(n, 0);
    if (!diff)
        return -1;
    enum reduction red = (enum reduction)n->iarg[0];
    double uniform = 0;
    struct tensor *gs = grad_scales(g, red, n->farg[0], &uniform);
    struct tensor *ga = gs ? tensor_new_like(diff) : NULL;
    if (!ga) {
        tensor_release(gs);
        return -1;
    }
    const float *d = tensor_f32(diff), *gd = tensor_f32(gs);
    float *o = tensor_f32(ga);
    int64_t len = tensor_numel(diff);
    if (red == RED_NONE) {
        PARALLEL_FOR(len > PAR_MIN_ELEMS, i, len, { o[i] = 2.0f * d[i] * gd[i]; });
    } else {
        float s = (float)(2.0 * uniform);
        PARALLEL_FOR(len > PAR_MIN_ELEMS, i, len, { o[i] = s * d[i]; });
    }
    tensor_release(gs);
    int rc = 0;
    if (ag_needs(n, 1)) {
        gi[1] = tensor_new_like(ga);
        if (gi[1]) {
            float *ob = tensor_f32(gi[1]);
            PARALLEL_FOR(len > PAR_MIN_ELEMS, i, len, { ob[i] = -o[i]; });
        } else {
            rc = -1;
        }
    }
    if (ag_needs(n, 0))
        gi[0] = ga;
    else
        tensor_release(ga);
    return rc;
}

struct tensor *op_mse_loss(struct tensor *a, struct tensor *b, enum reduction red)
{
    const char *op = "mse_loss";
    if (check_reduction(op, red) < 0 || check_pair(op, a, b) < 0)
        return NULL;
    struct tensor *ac = tensor_contiguous(a), *bc = ac ? tensor_contiguous(b) : NULL;
    struct tensor *diff = bc ? tensor_new_like(a) : NULL;
    struct tensor *loss = diff ? tensor_new_like(a) : NULL;
    struct tensor *out = NULL;
    int64_t len = tensor_numel(a);
    if (loss) {
        const float *x = tensor_f32(ac), *y = tensor_f32(bc);
        float *d = tensor_f32(diff), *l = tensor_f32(loss);
        PARALLEL_FOR(len > PAR_MIN_ELEMS, i, len, {
            d[i] = x[i] - y[i];
            l[i] = d[i] * d[i];
        });
        out = reduce_loss(loss, red, (double)len);
        loss = NULL;
    }
    struct tensor *ins[] = {a, b};
    struct ag_node *n = out ? ag_record(&out, "MseLossBackward", mse_backward, 2, ins) : NULL;
    if (n) {
        n->iarg[0] = red;
        n->farg[0] = (double)len;
        ag_save(n, diff);
    }
    tensor_release(loss);
    tensor_release(diff);
    tensor_release(bc);
    tensor_release(ac);
    return out;
}

/* softplus(-x) = log(1 + exp(-x)), without overflow for large |x| */
static inline double softplus_neg(double x) { return fmax(-x, 0.0) + log1p(exp(-fabs(x))); }

static int bce_backward(struct ag_node *n, struct tensor *g, struct tensor **gi)
{
    struct tensor *x = ag_saved(n, 0), *y = ag_saved(n, 1);
    struct tensor *pw = n->iarg[1] ? ag_saved(n, 2) : NULL;
    if (!x || !y || (n->iarg[1] && !pw))
        return -1;
    enum reduction red = (enum reduction)n->iarg[0];
    double uniform = 0;
    struct tensor *gs = grad_scales(g, red, n->farg[0], &uniform);
    if (!gs)
        return -1;
    struct tensor *gx = ag_needs(n, 0) ? tensor_new_like(x) : NULL;
    struct tensor *gy = ag_needs(n, 1) ? tensor_new_like(y) : NULL;
    if ((ag_needs(n, 0) && !gx) || (ag_needs(n, 1) && !gy)) {
        tensor_release(gx);
        tensor_release(gy);
        tensor_release(gs);
        return -1;
    }
    const float *xd = tensor_f32(x), *yd = tensor_f32(y), *gd = tensor_f32(gs);
    const float *p = pw ? tensor_f32(pw) : NULL;
    float *ox = gx ? tensor_f32(gx) : NULL, *oy = gy ? tensor_f32(gy) : NULL;
    int64_t len = tensor_numel(x);
    PARALLEL_FOR(len > PAR_MIN_ELEMS, i, len, {
        double s = red == RED_NONE ? gd[i] : uniform, xv = xd[i], yv = yd[i];
        double pv = p ? p[i] : 1.0;
        double lw = 1 + (pv - 1) * yv;
        if (ox) /* (1 - y) - lw * sigmoid(-x) */
            ox[i] = (float)(s * ((1 - yv) - lw / (1 + exp(xv))));
        if (oy) /* -x + (pos_weight - 1) * softplus(-x) */
            oy[i] = (float)(s * (-xv + (pv - 1) * softplus_neg(xv)));
    });
    tensor_release(gs);
    gi[0] = gx;
    gi[1] = gy;
    return 0;
}

struct tensor *op_bce_with_logits(struct tensor *x, struct tensor *y, struct tensor *pos_weight,
                                  enum reduction red)
{
    const char *op = "binary_cross_entropy_with_logits";
    if (check_reduction(op, red) < 0 || check_pair(op, x, y) < 0)
        return NULL;
    if (pos_weight) {
        int64_t shape[TENSOR_MAXDIM];
        if (nn_require_f32(op, "pos_weight", pos_weight) < 0)
            return NULL;
        int nd = pos_weight->ndim <= x->ndim
                     ? shape_broadcast(op, x->ndim, x->shape, pos_weight->ndim, pos_weight->shape,
                                       shape)
                     : -1;
        bool ok = nd == x->ndim;
        for (int d = 0; ok && d < nd; d++)
            ok = shape[d] == x->shape[d];
        if (!ok) {
            err_set("%s: pos_weight %s does not broadcast to input %s", op, tshape(pos_weight),
                    tshape(x));
            return NULL;
        }
    }
    /* pos_weight expanded to x's shape once: the kernels then read three equal layouts */
    struct tensor *pw = pos_weight ? tensor_new_like(x) : NULL;
    if (pos_weight && (!pw || tensor_copy_into(pw, pos_weight) < 0)) {
        tensor_release(pw);
        return NULL;
    }
    struct tensor *xc = tensor_contiguous(x), *yc = xc ? tensor_contiguous(y) : NULL;
    struct tensor *loss = yc ? tensor_new_like(x) : NULL;
    struct tensor *out = NULL;
    int64_t len = tensor_numel(x);
    if (loss) {
        const float *xd = tensor_f32(xc), *yd = tensor_f32(yc), *p = pw ? tensor_f32(pw) : NULL;
        float *l = tensor_f32(loss);
        PARALLEL_FOR(len > PAR_MIN_ELEMS, i, len, {
            double xv = xd[i], yv = yd[i], lw = p ? 1 + ((double)p[i] - 1) * yv : 1.0;
            l[i] = (float)((1 - yv) * xv + lw * softplus_neg(xv));
        });
        out = reduce_loss(loss, red, (double)len);
        loss = NULL;
    }
    struct tensor *ins[] = {x, y};
    struct ag_node *n = out ? ag_record(&out, "BceWithLogitsBackward", bce_backward, 2, ins)
                            : NULL;
    if (n) {
        n->iarg[0] = red;
        n->iarg[1] = pw != NULL;
        n->farg[0] = (double)len;
        ag_save(n, xc);
        ag_save(n, yc);
        if (pw)
            ag_save(n, pw);
    }
    tensor_release(loss);
    tensor_release(yc);
    tensor_release(xc);
    tensor_release(pw);
    return out;
}
