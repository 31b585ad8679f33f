/* winograd.c — 3x3 stride-1 convolution as Winograd F(4x4, 3x3) (Lavin & Gray 2015).
 *
 * Each 4x4 block of outputs comes from a 6x6 tile of the (zero-padded) input d and the kernel g:
 *     y = A^T [ (G g G^T) ⊙ (B^T d B) ] A
 * Summed over input channels, the product at each of the 36 tile positions ξ is a matrix
 * product: M_ξ [T, O] = V_ξ [T, C] · U_ξ^T for T tiles, U_ξ [O, C]. A convolution is thus 36
 * sgemms doing 36 multiply-adds per 16 outputs and input channel where im2col's one sgemm does
 * 144: 4x fewer. The tile transforms work on blocks of LANES channels at once (one vector per
 * tile value): each block of a few image rows is first transposed to [row][column][lane], so
 * that every step of a transform is a plain vector operation whatever the image size (7x7
 * maps have just 2x2 tiles, too few to vectorise across).
 *
 * Backward is the adjoint of every step: gM = A gy A^T per tile, gU_ξ = gM_ξ^T V_ξ summed over
 * tiles (then gw = G^T gU G), and gV_ξ = gM_ξ U_ξ (then gx = Σ over tiles of B gV B^T,
 * overlapping tiles adding up).
 *
 * Layouts: U [36][O][C]; V [36][T][Cp] and M [36][T][Op] with channels padded to a multiple
 * of LANES (Cp, Op) and the tiles t of a chunk of images in order (image, tile row, tile
 * column). Images are processed in chunks so that V and M stay within SCRATCH_BYTES. The
 * sgemms run one after another, each threaded by OpenBLAS; the transforms run under OpenMP
 * between them. Accuracy: the transforms' constants (up to 8, and 1/6, 1/24) cost some float32
 * roundings more than im2col: relative errors of a few 1e-6 instead of a few 1e-7. */
#include "winograd.h"

#include "loupe/core.h"
#include "../strided.h"

#include <cblas.h>
#include <omp.h>
#include <string.h>

#define NPOS 36  /* tile positions */
#define LANES 16 /* channels transformed together: one AVX-512 vector */
#define SCRATCH_BYTES ((int64_t)64 << 20)

struct wgeom {
    int64_t N, C, H, W, O, ph, pw, OH, OW;
    int64_t TH, TW, TPI; /* tile rows, tile columns, tiles per image */
    int64_t Cp, Op;      /* C and O rounded up to a multiple of LANES */
    int64_t nb;          /* images per chunk */
    int64_t bw;          /* band row length in floats: (4 TW + 2) columns of LANES */
    int64_t kstride;     /* floats between the kernels of two input channels (9) */
};

static int64_t round_lanes(int64_t n) { return (n + LANES - 1) / LANES * LANES; }

static void geom_of(struct wgeom *g, const struct wino_shape *s)
{
    *g = (struct wgeom){.N = s->N, .C = s->C, .H = s->H, .W = s->W, .O = s->O, .ph = s->ph,
                        .pw = s->pw, .kstride = 9};
    g->OH = s->H + 2 * s->ph - 2;
    g->OW = s->W + 2 * s->pw - 2;
    g->TH = (g->OH + 3) / 4;
    g->TW = (g->OW + 3) / 4;
    g->TPI = g->TH * g->TW;
    g->Cp = round_lanes(g->C);
    g->Op = round_lanes(g->O);
    g->bw = (4 * g->TW + 2) * LANES;
    int64_t per_image = NPOS * (g->Cp + g->Op) * g->TPI * (int64_t)sizeof(float);
    int64_t nb = SCRATCH_BYTES / per_image;
    nb = nb < 1 ? 1 : nb > g->N ? g->N : nb;
    int64_t chunks = (g->N + nb - 1) / nb; /* then as even as they can be */
    g->nb = g->N > 0 ? (g->N + chunks - 1) / chunks : 1;
}

bool wino_suitable(const struct wino_shape *s)
{
    struct wgeom g;
    if (s->C < 16 || s->O < 16 || s->N < 1 || s->H + 2 * s->ph < 3 || s->W + 2 * s->pw < 3)
        return false;
    geom_of(&g, s);
    int64_t T = g.nb * g.TPI;
    return NPOS * g.O * g.C <= 0x7fffffff && NPOS * g.Cp * T <= 0x7fffffff &&
           NPOS * g.Op * T <= 0x7fffffff;
}

/* ---- the three 1-D transforms and their adjoints, on 6 (or 4) values ---- */

/* B^T d: the input transform of 6 values. */
#define BT6(d, o)                                                                            \
    do {                                                                                     \
        o[0] = 4 * d[0] - 5 * d[2] + d[4];                                                   \
        o[1] = -4 * (d[1] + d[2]) + d[3] + d[4];                                             \
        o[2] = 4 * (d[1] - d[2]) - d[3] + d[4];                                              \
        o[3] = 2 * (d[3] - d[1]) - d[2] + d[4];                                              \
        o[4] = 2 * (d[1] - d[3]) - d[2] + d[4];                                              \
        o[5] = 4 * d[1] - 5 * d[3] + d[5];                                                   \
    } while (0)

/* B v: the adjoint of BT6. */
#define B6(v, o)                                                                             \
    do {                                                                                     \
        o[0] = 4 * v[0];                                                                     \
        o[1] = 4 * (v[2] - v[1] + v[5]) + 2 * (v[4] - v[3]);                                 \
        o[2] = -5 * v[0] - 4 * (v[1] + v[2]) - v[3] - v[4];                                  \
        o[3] = v[1] - v[2] + 2 * (v[3] - v[4]) - 5 * v[5];                                   \
        o[4] = v[0] + v[1] + v[2] + v[3] + v[4];                                             \
        o[5] = v[5];                                                                         \
    } while (0)

/* A^T m: 6 products to 4 outputs. */
#define AT4(m, o)                                                                            \
    do {                                                                                     \
        float p12 = m[1] + m[2], n12 = m[1] - m[2], p34 = m[3] + m[4], n34 = m[3] - m[4];    \
        o[0] = m[0] + p12 + p34;                                                             \
        o[1] = n12 + 2 * n34;                                                                \
        o[2] = p12 + 4 * p34;                                                                \
        o[3] = n12 + 8 * n34 + m[5];                                                         \
    } while (0)

/* A y: the adjoint of AT4, 4 output gradients to 6. */
#define A6(y, o)                                                                             \
    do {                                                                                     \
        float p02 = y[0] + y[2], p13 = y[1] + y[3];                                          \
        float q02 = y[0] + 4 * y[2], q13 = 2 * y[1] + 8 * y[3];                              \
        o[0] = y[0];                                                                         \
        o[1] = p02 + p13;                                                                    \
        o[2] = p02 - p13;                                                                    \
        o[3] = q02 + q13;                                                                    \
        o[4] = q02 - q13;                                                                    \
        o[5] = y[3];                                                                         \
    } while (0)

/* G k: the kernel transform of 3 values. */
#define G6(k, o)                                                                             \
    do {                                                                                     \
        o[0] = k[0] * 0.25f;                                                                 \
        o[1] = (k[0] + k[1] + k[2]) * (-1.0f / 6);                                           \
        o[2] = (k[0] - k[1] + k[2]) * (-1.0f / 6);                                           \
        o[3] = k[0] * (1.0f / 24) + k[1] * (1.0f / 12) + k[2] * (1.0f / 6);                  \
        o[4] = k[0] * (1.0f / 24) - k[1] * (1.0f / 12) + k[2] * (1.0f / 6);                  \
        o[5] = k[2];                                                                         \
    } while (0)

/* G^T u: the adjoint of G6. */
#define GT3(u, o)                                                                            \
    do {                                                                                     \
        o[0] = u[0] * 0.25f - (u[1] + u[2]) * (1.0f / 6) + (u[3] + u[4]) * (1.0f / 24);      \
        o[1] = (u[2] - u[1]) * (1.0f / 6) + (u[3] - u[4]) * (1.0f / 12);                     \
        o[2] = (u[3] + u[4] - u[1] - u[2]) * (1.0f / 6) + u[5];                              \
    } while (0)

/* ---- weights ---- */

/* Uo[ξ OC + c] = (G w[c] G^T)[i][j], ξ = 6 i + j, for the C kernels of one output channel,
 * w[c] at wo + c ks. (ks is 9 but passed at run time: with a constant stride 9 GCC finds an
 * interleaving group it cannot vectorise, with a variable one it gathers.) */
static void weights_fwd_row(float *restrict Uo, const float *restrict wo, int64_t C, int64_t OC,
                            int64_t ks)
{
    _Pragma("GCC ivdep") for (int64_t c = 0; c < C; c++) {
        float k[9], col[3], t[18], row[3], u[6];
        _Pragma("GCC unroll 9") for (int q = 0; q < 9; q++)
            k[q] = wo[c * ks + q];
        _Pragma("GCC unroll 3") for (int b = 0; b < 3; b++) { /* t[6 b ..]: G times column b */
            col[0] = k[b];
            col[1] = k[3 + b];
            col[2] = k[6 + b];
            G6(col, (t + 6 * b));
        }
        _Pragma("GCC unroll 6") for (int i = 0; i < 6; i++) {
            row[0] = t[i];
            row[1] = t[6 + i];
            row[2] = t[12 + i];
            G6(row, u);
            _Pragma("GCC unroll 6") for (int j = 0; j < 6; j++)
                Uo[(i * 6 + j) * OC + c] = u[j];
        }
    }
}

/* U[ξ][o][c] = (G w[o][c] G^T)[i][j]. */
static void weights_fwd(float *U, const float *w, const struct wgeom *g)
{
    int64_t OC = g->O * g->C;
    PARALLEL_FOR(OC * NPOS > PAR_MIN_ELEMS, o, g->O,
                 { weights_fwd_row(U + o * g->C, w + o * g->C * 9, g->C, OC, g->kstride); });
}

/* gw[o][c] = G^T gU[.][o][c] G (3x3). */
static void weights_adj(float *gw, const float *gU, const struct wgeom *g)
{
    int64_t OC = g->O * g->C;
    PARALLEL_FOR(OC * NPOS > PAR_MIN_ELEMS, o, g->O, {
        _Pragma("omp simd") for (int64_t c = 0; c < g->C; c++) {
            float t[6][3], u[6], r[3];
            _Pragma("GCC unroll 6") for (int i = 0; i < 6; i++) { /* t[i] = row i of gU times G */
                _Pragma("GCC unroll 6") for (int j = 0; j < 6; j++)
                    u[j] = gU[(i * 6 + j) * OC + o * g->C + c];
                GT3(u, t[i]);
            }
            float *k = gw + (o * g->C + c) * 9;
            _Pragma("GCC unroll 6") for (int b = 0; b < 3; b++) {
                _Pragma("GCC unroll 6") for (int i = 0; i < 6; i++)
                    u[i] = t[i][b];
                GT3(u, r);
                k[b] = r[0];
                k[3 + b] = r[1];
                k[6 + b] = r[2];
            }
        }
    });
}

/* ---- one tile, LANES channels at a time ----
 * Tile values are vectors of LANES floats: d[r rs + s LANES + l] is row r, column s, lane l of
 * a band; transformed values go to out[ξ os + l]. */

/* out[ξ] = (B^T d B)[ξ] for the 6x6 tile d. */
static void tile_in(float *restrict out, int64_t os, const float *restrict d, int64_t rs)
{
    float t[6][6][LANES]; /* t[k][r]: row r times B */
    for (int r = 0; r < 6; r++)
        for (int l = 0; l < LANES; l++) {
            float v[6], o[6];
            _Pragma("GCC unroll 6") for (int s = 0; s < 6; s++)
                v[s] = d[r * rs + s * LANES + l];
            BT6(v, o);
            _Pragma("GCC unroll 6") for (int k = 0; k < 6; k++)
                t[k][r][l] = o[k];
        }
    for (int k = 0; k < 6; k++)
        for (int l = 0; l < LANES; l++) {
            float v[6], o[6];
            _Pragma("GCC unroll 6") for (int r = 0; r < 6; r++)
                v[r] = t[k][r][l];
            BT6(v, o);
            _Pragma("GCC unroll 6") for (int i = 0; i < 6; i++)
                out[(6 * i + k) * os + l] = o[i];
        }
}

/* d += B g B^T for the 6x6 tile gradient g[ξ] (the adjoint of tile_in). */
static void tile_in_adj(float *restrict d, int64_t rs, const float *restrict g, int64_t os)
{
    float t[6][6][LANES]; /* t[k][r]: column k of B g */
    for (int k = 0; k < 6; k++)
        for (int l = 0; l < LANES; l++) {
            float v[6], o[6];
            _Pragma("GCC unroll 6") for (int i = 0; i < 6; i++)
                v[i] = g[(6 * i + k) * os + l];
            B6(v, o);
            _Pragma("GCC unroll 6") for (int r = 0; r < 6; r++)
                t[k][r][l] = o[r];
        }
    for (int r = 0; r < 6; r++)
        for (int l = 0; l < LANES; l++) {
            float v[6], o[6];
            _Pragma("GCC unroll 6") for (int k = 0; k < 6; k++)
                v[k] = t[k][r][l];
            B6(v, o);
            _Pragma("GCC unroll 6") for (int s = 0; s < 6; s++)
                d[r * rs + s * LANES + l] += o[s];
        }
}

/* y (4x4) = A^T m A + bias for the tile products m[ξ]. */
static void tile_out(float *restrict y, int64_t rs, const float *restrict m, int64_t os,
                     const float *restrict bias)
{
    float t[6][4][LANES]; /* t[k][a]: row a of A^T m */
    for (int k = 0; k < 6; k++)
        for (int l = 0; l < LANES; l++) {
            float v[6], o[4];
            _Pragma("GCC unroll 6") for (int i = 0; i < 6; i++)
                v[i] = m[(6 * i + k) * os + l];
            AT4(v, o);
            _Pragma("GCC unroll 4") for (int a = 0; a < 4; a++)
                t[k][a][l] = o[a];
        }
    for (int a = 0; a < 4; a++)
        for (int l = 0; l < LANES; l++) {
            float v[6], o[4];
            _Pragma("GCC unroll 6") for (int k = 0; k < 6; k++)
                v[k] = t[k][a][l];
            AT4(v, o);
            _Pragma("GCC unroll 4") for (int b = 0; b < 4; b++)
                y[a * rs + b * LANES + l] = o[b] + bias[l];
        }
}

/* gm[ξ] = (A gy A^T)[ξ] for the 4x4 output gradient gy (the adjoint of tile_out). */
static void tile_out_adj(float *restrict gm, int64_t os, const float *restrict gy, int64_t rs)
{
    float t[6][4][LANES]; /* t[k][a]: row a of gy times A^T */
    for (int a = 0; a < 4; a++)
        for (int l = 0; l < LANES; l++) {
            float v[4], o[6];
            _Pragma("GCC unroll 4") for (int b = 0; b < 4; b++)
                v[b] = gy[a * rs + b * LANES + l];
            A6(v, o);
            _Pragma("GCC unroll 6") for (int k = 0; k < 6; k++)
                t[k][a][l] = o[k];
        }
    for (int k = 0; k < 6; k++)
        for (int l = 0; l < LANES; l++) {
            float v[4], o[6];
            _Pragma("GCC unroll 4") for (int a = 0; a < 4; a++)
                v[a] = t[k][a][l];
            A6(v, o);
            _Pragma("GCC unroll 6") for (int i = 0; i < 6; i++)
                gm[(6 * i + k) * os + l] = o[i];
        }
}

/* ---- bands: image rows of one block of channels, transposed to [row][column][lane] ---- */

/* band row (cols columns of LANES) = row h of planes c0 .. c0 + nc - 1 of x [C][hh][ww],
 * starting at column `left` of the band; zero elsewhere (outside the image, lanes >= nc). */
static void band_fill(float *restrict band, int64_t cols, const float *restrict x, int64_t hh,
                      int64_t ww, int64_t h, int64_t nc, int64_t left)
{
    memset(band, 0, sizeof(float) * (size_t)(cols * LANES));
    if (h < 0 || h >= hh)
        return;
    for (int64_t l = 0; l < nc; l++) {
        const float *src = x + (l * hh + h) * ww;
        for (int64_t c = 0; c < ww; c++)
            band[(left + c) * LANES + l] = src[c];
    }
}

/* Row h of planes c0 .. c0 + nc - 1 of x [C][hh][ww] = ww columns of the band row from
 * column `left` (the inverse of band_fill). */
static void band_flush(float *restrict x, int64_t hh, int64_t ww, int64_t h, int64_t nc,
                       const float *restrict band, int64_t left)
{
    if (h < 0 || h >= hh)
        return;
    for (int64_t l = 0; l < nc; l++) {
        float *dst = x + (l * hh + h) * ww;
        for (int64_t c = 0; c < ww; c++)
            dst[c] = band[(left + c) * LANES + l];
    }
}

/* The tiles of one image and one block of channels. V, M point at the block's first lane and
 * the image's first tile: tile t of position ξ at [ξ vs + t Cp] (V) or [ξ ms + t Op] (M). */

/* V = the input transforms of image x (planes from the block's first channel). */
static void input_block(float *V, int64_t vs, const float *x, int64_t nc, const struct wgeom *g,
                        float *band)
{
    int64_t cols = 4 * g->TW + 2, rs = g->bw;
    for (int64_t th = 0; th < g->TH; th++) {
        /* padded rows 4 th .. 4 th + 5; the first two are the last two of the previous band */
        int r0 = th == 0 ? 0 : 2;
        if (th > 0)
            memcpy(band, band + 4 * rs, sizeof(float) * (size_t)(2 * rs));
        for (int r = r0; r < 6; r++)
            band_fill(band + r * rs, cols, x, g->H, g->W, 4 * th - g->ph + r, nc, g->pw);
        for (int64_t tw = 0; tw < g->TW; tw++)
            tile_in(V + (th * g->TW + tw) * g->Cp, vs, band + 4 * tw * LANES, rs);
    }
}

/* gx = the adjoint input transforms of gV for image gx (planes from the block's first). */
static void input_block_adj(float *gx, const float *gV, int64_t vs, int64_t nc,
                            const struct wgeom *g, float *band)
{
    int64_t rs = g->bw;
    memset(band, 0, sizeof(float) * (size_t)(6 * rs));
    for (int64_t th = 0; th <= g->TH; th++) {
        if (th < g->TH)
            for (int64_t tw = 0; tw < g->TW; tw++)
                tile_in_adj(band + 4 * tw * LANES, rs, gV + (th * g->TW + tw) * g->Cp, vs);
        /* padded rows 4 th .. 4 th + 3 are complete (4 th, 4 th + 1 after the last tile row) */
        for (int r = 0; r < (th < g->TH ? 4 : 2); r++)
            band_flush(gx, g->H, g->W, 4 * th - g->ph + r, nc, band + r * rs, g->pw);
        memcpy(band, band + 4 * rs, sizeof(float) * (size_t)(2 * rs));
        memset(band + 2 * rs, 0, sizeof(float) * (size_t)(4 * rs));
    }
}

/* y = the output transforms of M plus bias (LANES values) for image y. */
static void output_block(float *y, const float *M, int64_t ms, const float *bias, int64_t nc,
                         const struct wgeom *g, float *band)
{
    int64_t rs = 4 * g->TW * LANES;
    for (int64_t th = 0; th < g->TH; th++) {
        for (int64_t tw = 0; tw < g->TW; tw++)
            tile_out(band + 4 * tw * LANES, rs, M + (th * g->TW + tw) * g->Op, ms, bias);
        for (int a = 0; a < 4; a++)
            band_flush(y, g->OH, g->OW, 4 * th + a, nc, band + a * rs, 0);
    }
}

/* gM = the adjoint output transforms of image gy. */
static void output_block_adj(float *gM, int64_t ms, const float *gy, int64_t nc,
                             const struct wgeom *g, float *band)
{
    int64_t cols = 4 * g->TW, rs = cols * LANES;
    for (int64_t th = 0; th < g->TH; th++) {
        for (int a = 0; a < 4; a++)
            band_fill(band + a * rs, cols, gy, g->OH, g->OW, 4 * th + a, nc, 0);
        for (int64_t tw = 0; tw < g->TW; tw++)
            tile_out_adj(gM + (th * g->TW + tw) * g->Op, ms, band + 4 * tw * LANES, rs);
    }
}

/* ---- chunked passes over (image, block of channels) ---- */

enum pass { IN_FWD, IN_ADJ, OUT_FWD, OUT_ADJ };

/* One transform over images n0 .. n0 + nb - 1 of the tensor t ([N, chans, plane]); buf is V
 * or M of the chunk ([36][nb TPI][chans rounded up]). */
static void run_pass(enum pass p, float *t, float *buf, const float *bias, int64_t n0,
                     int64_t nb, const struct wgeom *g, float *bands)
{
    bool in = p == IN_FWD || p == IN_ADJ;
    int64_t chans = in ? g->C : g->O, cp = in ? g->Cp : g->Op, blocks = cp / LANES;
    int64_t plane = in ? g->H * g->W : g->OH * g->OW, stride = nb * g->TPI * cp;
    int64_t ntasks = nb * blocks;
    PARALLEL_FOR(ntasks > 1 && ntasks * g->TPI * NPOS * LANES > PAR_MIN_ELEMS, task, ntasks, {
        int64_t i = task / blocks, c0 = task % blocks * LANES;
        int64_t nc = chans - c0 < LANES ? chans - c0 : LANES;
        float *tp = t + ((n0 + i) * chans + c0) * plane, *bp = buf + i * g->TPI * cp + c0;
        float *band = bands + omp_get_thread_num() * 6 * g->bw;
        float bias_l[LANES] = {0};
        switch (p) {
        case IN_FWD: input_block(bp, stride, tp, nc, g, band); break;
        case IN_ADJ: input_block_adj(tp, bp, stride, nc, g, band); break;
        case OUT_FWD:
            for (int64_t l = 0; bias && l < nc; l++)
                bias_l[l] = bias[c0 + l];
            output_block(tp, bp, stride, bias_l, nc, g, band);
            break;
        case OUT_ADJ: output_block_adj(bp, stride, tp, nc, g, band); break;
        }
    });
}

/* All scratch in one core_alloc block (its cache of large blocks hands the same memory back
 * on the next call; separate blocks under a megabyte would come from malloc, fresh pages each
 * time): U or gU [36][O][C] (two of them in backward), V, M, and a band per thread. */
struct wscratch {
    float *U, *gU, *V, *M, *bands;
    float *base;
    size_t bytes;
};

static int scratch_get(struct wscratch *s, const struct wgeom *g, int nU)
{
    int64_t T = g->nb * g->TPI, at = 0;
    int64_t sizes[4] = {NPOS * g->O * g->C, NPOS * T * g->Cp, NPOS * T * g->Op,
                        omp_get_max_threads() * 6 * g->bw};
    int64_t off[5];
    for (int i = 0; i < 4; i++) { /* 64-byte aligned segments: U, V, M, bands, then gU */
        off[i] = at;
        at += (sizes[i] + 15) / 16 * 16;
    }
    off[4] = at;
    if (nU == 2)
        at += sizes[0];
    s->bytes = sizeof(float) * (size_t)at;
    if (!(s->base = core_alloc(s->bytes, "conv2d (Winograd) buffers")))
        return -1;
    s->U = s->base + off[0];
    s->V = s->base + off[1];
    s->M = s->base + off[2];
    s->bands = s->base + off[3];
    s->gU = nU == 2 ? s->base + off[4] : s->U;
    return 0;
}

int wino_forward(float *y, const float *x, const float *w, const float *b,
                 const struct wino_shape *sh)
{
    struct wgeom g;
    struct wscratch s;
    geom_of(&g, sh);
    if (scratch_get(&s, &g, 1) < 0)
        return -1;
    weights_fwd(s.U, w, &g);
    for (int64_t n0 = 0; n0 < g.N; n0 += g.nb) {
        int64_t nb = g.N - n0 < g.nb ? g.N - n0 : g.nb, T = nb * g.TPI;
        run_pass(IN_FWD, (float *)x, s.V, NULL, n0, nb, &g, s.bands);
        for (int q = 0; q < NPOS; q++) /* M_ξ [T, O] = V_ξ [T, C] U_ξ^T [C, O] */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, (int)g.O, (int)g.C,
                        1.0f, s.V + q * T * g.Cp, (int)g.Cp, s.U + q * g.O * g.C, (int)g.C,
                        0.0f, s.M + q * T * g.Op, (int)g.Op);
        run_pass(OUT_FWD, y, s.M, b, n0, nb, &g, s.bands);
    }
    core_free(s.base, s.bytes);
    return 0;
}

int wino_backward(float *gx, float *gw, const float *gy, const float *x, const float *w,
                  const struct wino_shape *sh)
{
    struct wgeom g;
    struct wscratch s;
    geom_of(&g, sh);
    if (scratch_get(&s, &g, gx && gw ? 2 : 1) < 0)
        return -1;
    int64_t OC = g.O * g.C;
    if (gx)
        weights_fwd(s.U, w, &g);
    for (int64_t n0 = 0; n0 < g.N; n0 += g.nb) {
        int64_t nb = g.N - n0 < g.nb ? g.N - n0 : g.nb, T = nb * g.TPI;
        run_pass(OUT_ADJ, (float *)gy, s.M, NULL, n0, nb, &g, s.bands);
        if (gw)
            run_pass(IN_FWD, (float *)x, s.V, NULL, n0, nb, &g, s.bands);
        for (int q = 0; q < NPOS; q++) {
            float *Mq = s.M + q * T * g.Op, *Vq = s.V + q * T * g.Cp;
            if (gw) /* gU_ξ [O, C] (+)= gM_ξ^T [O, T] V_ξ [T, C] */
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)g.O, (int)g.C, (int)T,
                            1.0f, Mq, (int)g.Op, Vq, (int)g.Cp, n0 ? 1.0f : 0.0f, s.gU + q * OC,
                            (int)g.C);
            if (gx) /* gV_ξ [T, C] = gM_ξ [T, O] U_ξ [O, C], into V_ξ once it is used */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)T, (int)g.C, (int)g.O,
                            1.0f, Mq, (int)g.Op, s.U + q * OC, (int)g.C, 0.0f, Vq, (int)g.Cp);
        }
        if (gx)
            run_pass(IN_ADJ, gx, s.V, NULL, n0, nb, &g, s.bands);
    }
    if (gw)
        weights_adj(gw, s.gU, &g);
    core_free(s.base, s.bytes);
    return 0;
}
