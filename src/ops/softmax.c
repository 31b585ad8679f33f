/* softmax.c — softmax and log_softmax over one dimension (max-shifted, double sums), and
 * cosine_similarity composed of differentiable ops. */
#include "loupe/autograd.h"
#include "loupe/core.h"
#include "loupe/ops.h"
#include "../strided.h"

#include <math.h>

/* y = softmax or log_softmax of x along R, x viewed as [outer, R, inner] (contiguous). */
static void softmax_run(float *y, const float *x, int64_t outer, int64_t R, int64_t inner,
                        bool log_out)
{
    int64_t nslices = outer * inner;
    PARALLEL_FOR(nslices * R > PAR_MIN_ELEMS && nslices > 1, j, nslices, {
        int64_t base = (j / inner) * R * inner + j % inner;
        const float *xs = x + base;
        float *ys = y + base;
        float mx = -INFINITY;
        for (int64_t r = 0; r < R; r++)
            mx = xs[r * inner] > mx ? xs[r * inner] : mx;
        if (isinf(mx) && mx < 0)
            mx = 0; /* all -inf: keep the NaN-free path PyTorch takes */
        double sum = 0;
        for (int64_t r = 0; r < R; r++)
            sum += exp((double)xs[r * inner] - mx);
        if (log_out) {
            double lse = log(sum) + mx;
            for (int64_t r = 0; r < R; r++)
                ys[r * inner] = (float)(xs[r * inner] - lse);
        } else {
            for (int64_t r = 0; r < R; r++)
                ys[r * inner] = (float)(exp((double)xs[r * inner] - mx) / sum);
        }
    });
}

static int softmax_backward(struct ag_node *n, struct tensor *g, struct tensor **gi)
{
    struct tensor *y = ag_saved(n, 0);
    if (!y)
        return -1;
    int dim = (int)n->iarg[0];
    struct tensor *t = NULL, *s = NULL, *u = NULL;
    if (n->iarg[1]) { /* log_softmax: g - exp(y) * sum(g) */
        struct tensor *e = op_unary(UN_EXP, y);
        s = e ? op_sum(g, dim, true) : NULL;
        t = s ? op_mul(e, s) : NULL;
        gi[0] = t ? op_sub(g, t) : NULL;
        tensor_release(e);
    } else { /* softmax: y * (g - sum(g * y)) */
        u = op_mul(g, y);
        s = u ? op_sum(u, dim, true) : NULL;
        t = s ? op_sub(g, s) : NULL;
        gi[0] = t ? op_mul(y, t) : NULL;
    }
    tensor_release(t);
    tensor_release(s);
    tensor_release(u);
    return gi[0] ? 0 : -1;
}

static struct tensor *softmax_impl(const char *op, struct tensor *x, int dim, bool log_out)
{
    if (x->dtype != DT_FLOAT32) {
        err_set("%s: expected a float32 tensor, got %s", op, dtype_name(x->dtype));
        return NULL;
    }
    if ((dim = dim_wrap(op, dim, x->ndim)) < 0)
        return NULL;
    int64_t outer = 1, inner = 1, R = x->ndim ? x->shape[dim] : 1;
    for (int d = 0; d < dim; d++)
        outer *= x->shape[d];
    for (int d = dim + 1; d < x->ndim; d++)
        inner *= x->shape[d];
    struct tensor *xc = tensor_contiguous(x);
    struct tensor *y = xc ? tensor_new(DT_FLOAT32, x->ndim, x->shape) : NULL;
    if (y && tensor_numel(y) > 0) /* an empty [2^40,0] must not loop 2^40 times */
        softmax_run(tensor_f32(y), tensor_f32(xc), outer, R, inner, log_out);
    tensor_release(xc);
    struct ag_node *n = ag_record(&y, log_out ? "LogSoftmaxBackward" : "SoftmaxBackward",
                                  softmax_backward, 1, &x);
    if (n) {
        n->iarg[0] = dim;
        n->iarg[1] = log_out;
        ag_save(n, y);
    }
    return y;
}

struct tensor *op_softmax(struct tensor *x, int dim) { return softmax_impl("softmax", x, dim, false); }

struct tensor *op_log_softmax(struct tensor *x, int dim)
{
    return softmax_impl("log_softmax", x, dim, true);
}

/* sum(a*b) / sqrt(max(sum(a*a) * sum(b*b), eps^2)) along dim, with broadcasting. */
struct tensor *op_cosine_similarity(struct tensor *a, struct tensor *b, int dim, double eps)
{
    int64_t shape[TENSOR_MAXDIM];
    int nd = shape_broadcast("cosine_similarity", a->ndim, a->shape, b->ndim, b->shape, shape);
    if (nd < 0 || (dim = dim_wrap("cosine_similarity", dim, nd)) < 0)
        return NULL;
    /* both at the common shape, so dim means the same for a*a and b*b as for a*b */
    struct tensor *ae = op_expand(a, nd, shape), *be = ae ? op_expand(b, nd, shape) : NULL;
    if (!be) {
        tensor_release(ae);
        return NULL;
    }
    a = ae;
    b = be;
    struct tensor *ab = op_mul(a, b), *aa = ab ? op_mul(a, a) : NULL, *bb = aa ? op_mul(b, b) : NULL;
    struct tensor *w12 = bb ? op_sum(ab, dim, false) : NULL;
    struct tensor *w1 = w12 ? op_sum(aa, dim, false) : NULL;
    struct tensor *w2 = w1 ? op_sum(bb, dim, false) : NULL;
    struct tensor *w = w2 ? op_mul(w1, w2) : NULL;
    struct tensor *wc = w ? op_clamp(w, (float)(eps * eps), NAN) : NULL;
    struct tensor *den = wc ? op_unary(UN_SQRT, wc) : NULL;
    struct tensor *out = den ? op_div(w12, den) : NULL;
    struct tensor *tmp[] = {ae, be, ab, aa, bb, w12, w1, w2, w, wc, den};
    for (size_t i = 0; i < sizeof tmp / sizeof *tmp; i++)
        tensor_release(tmp[i]);
    return out;
}
