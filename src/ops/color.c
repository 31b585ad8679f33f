/* color.c — the hue shift of torchvision's adjust_hue on float tensors (0.14), with its
 * gradient: RGB -> HSV (_rgb2hsv), h = (h + hue_factor) mod 1, HSV -> RGB (_hsv2rgb, whose
 * p, q, t are clamped to [0, 1]). The forward pass repeats torchvision's float32 operations in
 * their order, so results agree to rounding; the backward pass is the reverse-mode derivative
 * of that same expression graph, written out per pixel ("AdjustHueBackward"), so it matches
 * PyTorch's autograd through torchvision's code: the max / min channels get the gradient of
 * maxc / minc (the first of equal channels), the where() denominators pass gradient only when
 * max != min, fmod and the hue shift pass it unchanged, floor passes none, and the clamps pass
 * it where the clamped value lies within [0, 1] (bounds included). The other jitter operations
 * (brightness, contrast, saturation) are blends composed from differentiable ops in
 * lua/loupe/transforms.lua. */
#include "loupe/transforms.h"

#include "loupe/autograd.h"
#include "loupe/core.h"
#include "../strided.h"

#include <math.h>
#include <string.h>

/* The intermediates of one pixel. */
struct hsv {
    int imx, imn;
    bool eq, mr, mg, mb;
    float mx, s, den_s, crd, rc, gc, bc, f, praw, qraw, traw;
    int i;
};

enum { SV, SP, SQ, ST };
/* _hsv2rgb's selection: channel c of sector i takes v, p, q or t */
static const unsigned char SECTOR[6][3] = {
    {SV, ST, SP}, {SQ, SV, SP}, {SP, SV, ST}, {SP, SQ, SV}, {ST, SP, SV}, {SV, SP, SQ}};

static inline float clamp01(float v) { return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v); }

static void hue_forward_px(const float c[3], float hue, struct hsv *o, float out[3])
{
    int imx = 0, imn = 0;
    for (int k = 1; k < 3; k++) {
        if (c[k] > c[imx])
            imx = k;
        if (c[k] < c[imn])
            imn = k;
    }
    float mx = c[imx], mn = c[imn];
    o->imx = imx;
    o->imn = imn;
    o->mx = mx;
    o->eq = mx == mn;
    float cr = mx - mn;
    o->den_s = o->eq ? 1.0f : mx;
    o->s = cr / o->den_s;
    o->crd = o->eq ? 1.0f : cr;
    o->rc = (mx - c[0]) / o->crd;
    o->gc = (mx - c[1]) / o->crd;
    o->bc = (mx - c[2]) / o->crd;
    o->mr = mx == c[0];
    o->mg = mx == c[1] && !o->mr;
    o->mb = mx != c[1] && !o->mr;
    float hr = o->mr ? o->bc - o->gc : 0.0f;
    float hg = o->mg ? 2.0f + o->rc - o->bc : 0.0f;
    float hb = o->mb ? 4.0f + o->gc - o->rc : 0.0f;
    float h = fmodf((hr + hg + hb) / 6.0f + 1.0f, 1.0f);
    h = fmodf(h + hue, 1.0f); /* torch.remainder: the sign of the divisor */
    if (h != 0.0f && h < 0.0f)
        h += 1.0f;
    float h6 = h * 6.0f, fl = floorf(h6);
    o->f = h6 - fl;
    int i = (int)fl % 6;
    o->i = i < 0 ? i + 6 : i;
    float v = mx, s = o->s, f = o->f;
    o->praw = v * (1.0f - s);
    o->qraw = v * (1.0f - s * f);
    o->traw = v * (1.0f - s * (1.0f - f));
    float val[4] = {v, clamp01(o->praw), clamp01(o->qraw), clamp01(o->traw)};
    for (int k = 0; k < 3; k++)
        out[k] = val[SECTOR[o->i][k]];
}

static inline float pass01(float raw) { return raw >= 0.0f && raw <= 1.0f ? 1.0f : 0.0f; }

/* gin = d out / d c applied to gout, for the pixel whose intermediates are o. */
static void hue_backward_px(const struct hsv *o, const float gout[3], float gin[3])
{
    float gsel[4] = {0, 0, 0, 0};
    for (int k = 0; k < 3; k++)
        gsel[SECTOR[o->i][k]] += gout[k];
    float v = o->mx, s = o->s, f = o->f;
    float gp = gsel[SP] * pass01(o->praw), gq = gsel[SQ] * pass01(o->qraw);
    float gt = gsel[ST] * pass01(o->traw);
    float gv = gsel[SV] + gp * (1.0f - s) + gq * (1.0f - s * f) + gt * (1.0f - s * (1.0f - f));
    float gs = -gp * v - gq * v * f - gt * v * (1.0f - f);
    float gf = -gq * v * s + gt * v * s;
    float gh = gf * 6.0f / 6.0f; /* f = 6 h2 - floor(..), h2 = h1 + hue, h1 = h / 6 + 1 (mod 1) */
    float grc = gh * ((float)o->mg - (float)o->mb);
    float ggc = gh * ((float)o->mb - (float)o->mr);
    float gbc = gh * ((float)o->mr - (float)o->mg);
    float gmx = gv + (grc + ggc + gbc) / o->crd;
    gin[0] = -grc / o->crd;
    gin[1] = -ggc / o->crd;
    gin[2] = -gbc / o->crd;
    float gcrd = -(grc * o->rc + ggc * o->gc + gbc * o->bc) / o->crd;
    float gcr = gs / o->den_s;
    if (!o->eq) {
        gcr += gcrd;
        gmx += -gs * s / o->den_s;
    }
    gmx += gcr;
    gin[o->imx] += gmx;
    gin[o->imn] -= gcr;
}

/* Planes of 3 channels: x [P, 3, hw]. backward: dst = gin from g (src2) at the pixels of x. */
static void hue_apply(float *dst, const float *x, const float *g, int64_t planes, int64_t hw,
                      float hue)
{
    int64_t n = planes * hw;
    PARALLEL_FOR(n > PAR_MIN_ELEMS / 8, t, n, {
        int64_t p = t / hw, q = t % hw, base = p * 3 * hw + q;
        float c[3] = {x[base], x[base + hw], x[base + 2 * hw]}, out[3];
        struct hsv o;
        hue_forward_px(c, hue, &o, out);
        if (g) {
            float go[3] = {g[base], g[base + hw], g[base + 2 * hw]};
            hue_backward_px(&o, go, out);
        }
        dst[base] = out[0];
        dst[base + hw] = out[1];
        dst[base + 2 * hw] = out[2];
    });
}

static int hue_backward(struct ag_node *n, struct tensor *g, struct tensor **gi)
{
    struct tensor *x = ag_saved(n, 0);
    if (!x)
        return -1;
    struct tensor *gc = tensor_contiguous(g);
    gi[0] = gc ? tensor_new(DT_FLOAT32, x->ndim, x->shape) : NULL;
    if (gi[0])
        hue_apply(tensor_f32(gi[0]), tensor_f32(x), tensor_f32(gc), n->iarg[0], n->iarg[1],
                  (float)n->farg[0]);
    tensor_release(gc);
    return gi[0] ? 0 : -1;
}

struct tensor *op_adjust_hue(struct tensor *x, float hue_factor)
{
    if (x->dtype != DT_FLOAT32) {
        err_set("adjust_hue: expected a float32 tensor, got %s", dtype_name(x->dtype));
        return NULL;
    }
    if (x->ndim < 3 || x->shape[x->ndim - 3] != 3) {
        err_set("adjust_hue: expected an RGB image [..., 3, H, W], got %s", tshape(x));
        return NULL;
    }
    int64_t hw = x->shape[x->ndim - 1] * x->shape[x->ndim - 2];
    int64_t planes = hw > 0 ? tensor_numel(x) / (3 * hw) : 0;
    struct tensor *xc = tensor_contiguous(x);
    struct tensor *out = xc ? tensor_new(DT_FLOAT32, x->ndim, x->shape) : NULL;
    if (!out) {
        tensor_release(xc);
        return NULL;
    }
    hue_apply(tensor_f32(out), tensor_f32(xc), NULL, planes, hw, hue_factor);
    struct ag_node *n = ag_record(&out, "AdjustHueBackward", hue_backward, 1, &x);
    if (n) {
        n->iarg[0] = planes;
        n->iarg[1] = hw;
        n->farg[0] = hue_factor;
        ag_save(n, xc);
    }
    tensor_release(xc);
    return out;
}
