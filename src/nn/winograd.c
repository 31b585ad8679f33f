/* winograd.c — 3x3 stride-1 convolution as Winograd F(2x2, 3x3) (Lavin & Gray 2015).
 *
 * Each 2x2 block of outputs comes from a 4x4 tile of the (zero-padded) input d and the kernel g:
 *     y = A^T [ (G g G^T) ⊙ (B^T d B) ] A
 * Summed over input channels, the product at each of the 16 tile positions ξ is a matrix
 * product: M_ξ [T, O] = V_ξ [T, C] · U_ξ^T for T tiles, U_ξ [O, C]. A convolution is thus 16
 * sgemms doing 16 multiply-adds per 4 outputs and input channel where im2col's one sgemm does
 * 36: 2.25x fewer. The tile transforms work on blocks of LANES channels at once (one vector per
 * tile value): each block of a few image rows is first transposed to [row][column][lane], so
 * that every step of a transform is a plain vector operation whatever the image size (7x7
 * maps have just 4x4 tiles, too few to vectorise across).
 *
 * Backward is the adjoint of every step: gM = A gy A^T per tile, gU_ξ = gM_ξ^T V_ξ summed over
 * tiles (then gw = G^T gU G), and gV_ξ = gM_ξ U_ξ (then gx = Σ over tiles of B gV B^T,
 * overlapping tiles adding up).
 *
 * Layouts: U [16][O][C]; V [16][T][Cp] and M [16][T][Op] with channels padded to a multiple
 * of LANES (Cp, Op) and the tiles t of a chunk of images in order (image, tile row, tile
 * column). Images are processed in chunks so that V and M stay within SCRATCH_BYTES. The
 * sgemms run one after another, each threaded by OpenBLAS; the transforms run under OpenMP
 * between them.
 *
 * Why F(2x2) and not F(4x4, 3x3) (6x6 tiles, 4x fewer multiplications, measured ~15% faster
 * on a ResNet-18 step): F(4x4)'s transform constants (up to 8, and 1/6, 1/24) amplify float32
 * rounding to relative errors of 3e-6 to 1.4e-5 on ResNet's shapes, and outputs near zero
 * missed PyTorch's float64 results by more than the 1e-5 the layer tests allow. F(2x2)'s
 * constants are 0, ±1 and ±1/2: errors within 2x of im2col's (a few 1e-7). */
#include "winograd.h"

#include "loupe/core.h"
#include "../strided.h"

#include <cblas.h>
#include <omp.h>
#include <string.h>

#define TM 2           /* outputs per tile side */
#define TN (TM + 2)    /* inputs per tile side */
#define NPOS (TN * TN) /* tile positions */
#define LANES 16       /* channels transformed together: one AVX-512 vector */
/* V + M per chunk. Measured on ResNet-18's shapes (batch 16, 2 threads): 32 MB beats 8 and 16
 * (small sgemms) and 64 and 128 (more misses in the transforms) by 5-15%. */
#define SCRATCH_BYTES ((int64_t)32 << 20)
/* Below this many input or output channels im2col wins: K = C is too short for the sgemms
 * (measured: 64 -> 64 channels at 16x16, batch 64, 20% faster; 32 -> 32 at 32x32 35% slower;
 * 16 -> 16 3x slower). */
#define MIN_CHANNELS 64

struct wgeom {
    int64_t N, C, H, W, O, ph, pw, OH, OW;
    int64_t TH, TW, TPI; /* tile rows, tile columns, tiles per image */
    int64_t Cp, Op;      /* C and O rounded up to a multiple of LANES */
    int64_t nb;          /* images per chunk */
    int64_t bw;          /* band row length in floats: (TM TW + 2) columns of LANES */
    int64_t kstride;     /* floats between the kernels of two input channels (9) */
};

static int64_t round_lanes(int64_t n) { return (n + LANES - 1) / LANES * LANES; }

static void geom_of(struct wgeom *g, const struct wino_shape *s)
{
    *g = (struct wgeom){.N = s->N, .C = s->C, .H = s->H, .W = s->W, .O = s->O, .ph = s->ph,
                        .pw = s->pw, .kstride = 9};
    g->OH = s->H + 2 * s->ph - 2;
    g->OW = s->W + 2 * s->pw - 2;
    g->TH = (g->OH + TM - 1) / TM;
    g->TW = (g->OW + TM - 1) / TM;
    g->TPI = g->TH * g->TW;
    g->Cp = round_lanes(g->C);
    g->Op = round_lanes(g->O);
    g->bw = (TM * g->TW + 2) * LANES;
    int64_t per_image = NPOS * (g->Cp + g->Op) * g->TPI * (int64_t)sizeof(float);
    int64_t nb = SCRATCH_BYTES / per_image;
    nb = nb < 1 ? 1 : nb > g->N ? g->N : nb;
    int64_t chunks = (g->N + nb - 1) / nb; /* then as even as they can be */
    g->nb = g->N > 0 ? (g->N + chunks - 1) / chunks : 1;
}

bool wino_suitable(const struct wino_shape *s)
{
    struct wgeom g;
    if (s->C < MIN_CHANNELS || s->O < MIN_CHANNELS || s->N < 1 || s->H + 2 * s->ph < 3 ||
        s->W + 2 * s->pw < 3)
        return false;
    geom_of(&g, s);
    int64_t T = g.nb * g.TPI;
    return NPOS * g.O * g.C <= 0x7fffffff && NPOS * g.Cp * T <= 0x7fffffff &&
           NPOS * g.Op * T <= 0x7fffffff;
}

/* ---- the 1-D transforms and their adjoints ----
 *   B^T = [1  0 -1  0]    G = [ 1    0    0 ]    A^T = [1  1  1  0]
 *         [0  1  1  0]        [1/2  1/2  1/2]          [0  1 -1 -1]
 *         [0 -1  1  0]        [1/2 -1/2  1/2]
 *         [0  1  0 -1]        [ 0    0    1 ]                                                */

/* B^T d: 4 inputs to 4 tile values. */
#define BT4(d, o)                                                                            \
    do {                                                                                     \
        o[0] = d[0] - d[2];                                                                  \
        o[1] = d[1] + d[2];                                                                  \
        o[2] = d[2] - d[1];                                                                  \
        o[3] = d[1] - d[3];                                                                  \
    } while (0)
/* B v: the adjoint of BT4. */
#define B4(v, o)                                                                             \
    do {                                                                                     \
        o[0] = v[0];                                                                         \
        o[1] = v[1] - v[2] + v[3];                                                           \
        o[2] = v[1] + v[2] - v[0];                                                           \
        o[3] = -v[3];                                                                        \
    } while (0)
/* A^T m: 4 products to 2 outputs. */
#define AT2(m, o)                                                                            \
    do {                                                                                     \
        o[0] = m[0] + m[1] + m[2];                                                           \
        o[1] = m[1] - m[2] - m[3];                                                           \
    } while (0)
/* A y: the adjoint of AT2, 2 output gradients to 4. */
#define A4(y, o)                                                                             \
    do {                                                                                     \
        o[0] = y[0];                                                                         \
        o[1] = y[0] + y[1];                                                                  \
        o[2] = y[0] - y[1];                                                                  \
        o[3] = -y[1];                                                                        \
    } while (0)
/* G k: the kernel transform of 3 taps. */
#define G4(k, o)                                                                             \
    do {                                                                                     \
        o[0] = k[0];                                                                         \
        o[1] = (k[0] + k[1] + k[2]) * 0.5f;                                                  \
        o[2] = (k[0] - k[1] + k[2]) * 0.5f;                                                  \
        o[3] = k[2];                                                                         \
    } while (0)
/* G^T u: the adjoint of G4. */
#define GT3(u, o)                                                                            \
    do {                                                                                     \
        o[0] = u[0] + (u[1] + u[2]) * 0.5f;                                                  \
        o[1] = (u[1] - u[2]) * 0.5f;                                                         \
        o[2] = (u[1] + u[2]) * 0.5f + u[3];                                                  \
    } while (0)

/* ---- weights ---- */

/* Uo[ξ OC + c] = (G w[c] G^T)[i][j], ξ = TN i + j, for the C kernels of one output channel,
 * w[c] at wo + c ks. (ks is 9 but passed at run time: with a constant stride 9 GCC finds an
 * interleaving group it cannot vectorise, with a variable one it gathers.) */
static void weights_fwd_row(float *restrict Uo, const float *restrict wo, int64_t C, int64_t OC,
                            int64_t ks)
{
    _Pragma("GCC ivdep") for (int64_t c = 0; c < C; c++) {
        float k[9], col[3], t[3 * TN], row[3], u[TN];
        _Pragma("GCC unroll 9") for (int q = 0; q < 9; q++)
            k[q] = wo[c * ks + q];
        _Pragma("GCC unroll 3") for (int b = 0; b < 3; b++) { /* t[TN b ..]: G times column b */
            col[0] = k[b];
            col[1] = k[3 + b];
            col[2] = k[6 + b];
            G4(col, (t + TN * b));
        }
        _Pragma("GCC unroll 4") for (int i = 0; i < TN; i++) {
            row[0] = t[i];
            row[1] = t[TN + i];
            row[2] = t[2 * TN + i];
            G4(row, u);
            _Pragma("GCC unroll 4") for (int j = 0; j < TN; j++)
                Uo[(i * TN + j) * OC + c] = u[j];
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
            float t[TN][3], u[TN], r[3];
            _Pragma("GCC unroll 4") for (int i = 0; i < TN; i++) { /* t[i] = row i of gU times G */
                _Pragma("GCC unroll 4") for (int j = 0; j < TN; j++)
                    u[j] = gU[(i * TN + j) * OC + o * g->C + c];
                GT3(u, t[i]);
            }
            float *k = gw + (o * g->C + c) * 9;
            _Pragma("GCC unroll 4") for (int b = 0; b < 3; b++) {
                _Pragma("GCC unroll 4") for (int i = 0; i < TN; i++)
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

/* out[ξ] = (B^T d B)[ξ] for the TN x TN tile d. */
static void tile_in(float *restrict out, int64_t os, const float *restrict d, int64_t rs)
{
    float t[TN][TN][LANES]; /* t[k][r]: row r times B */
    for (int r = 0; r < TN; r++)
        for (int l = 0; l < LANES; l++) {
            float v[TN], o[TN];
            _Pragma("GCC unroll 4") for (int s = 0; s < TN; s++)
                v[s] = d[r * rs + s * LANES + l];
            BT4(v, o);
            _Pragma("GCC unroll 4") for (int k = 0; k < TN; k++)
                t[k][r][l] = o[k];
        }
    for (int k = 0; k < TN; k++)
        for (int l = 0; l < LANES; l++) {
            float v[TN], o[TN];
            _Pragma("GCC unroll 4") for (int r = 0; r < TN; r++)
                v[r] = t[k][r][l];
            BT4(v, o);
            _Pragma("GCC unroll 4") for (int i = 0; i < TN; i++)
                out[(TN * i + k) * os + l] = o[i];
        }
}

/* d += B g B^T for the tile gradient g[ξ] (the adjoint of tile_in). */
static void tile_in_adj(float *restrict d, int64_t rs, const float *restrict g, int64_t os)
{
    float t[TN][TN][LANES]; /* t[k][r]: column k of B g */
    for (int k = 0; k < TN; k++)
        for (int l = 0; l < LANES; l++) {
            float v[TN], o[TN];
            _Pragma("GCC unroll 4") for (int i = 0; i < TN; i++)
                v[i] = g[(TN * i + k) * os + l];
            B4(v, o);
            _Pragma("GCC unroll 4") for (int r = 0; r < TN; r++)
                t[k][r][l] = o[r];
        }
    for (int r = 0; r < TN; r++)
        for (int l = 0; l < LANES; l++) {
            float v[TN], o[TN];
            _Pragma("GCC unroll 4") for (int k = 0; k < TN; k++)
                v[k] = t[k][r][l];
            B4(v, o);
            _Pragma("GCC unroll 4") for (int s = 0; s < TN; s++)
                d[r * rs + s * LANES + l] += o[s];
        }
}

/* y (TM x TM) = A^T m A + bias for the tile products m[ξ]. */
static void tile_out(float *restrict y, int64_t rs, const float *restrict m, int64_t os,
                     const float *restrict bias)
{
    float t[TN][TM][LANES]; /* t[k][a]: row a of A^T m */
    for (int k = 0; k < TN; k++)
        for (int l = 0; l < LANES; l++) {
            float v[TN], o[TM];
            _Pragma("GCC unroll 4") for (int i = 0; i < TN; i++)
                v[i] = m[(TN * i + k) * os + l];
            AT2(v, o);
            _Pragma("GCC unroll 4") for (int a = 0; a < TM; a++)
                t[k][a][l] = o[a];
        }
    for (int a = 0; a < TM; a++)
        for (int l = 0; l < LANES; l++) {
            float v[TN], o[TM];
            _Pragma("GCC unroll 4") for (int k = 0; k < TN; k++)
                v[k] = t[k][a][l];
            AT2(v, o);
            _Pragma("GCC unroll 4") for (int b = 0; b < TM; b++)
                y[a * rs + b * LANES + l] = o[b] + bias[l];
        }
}

/* gm[ξ] = (A gy A^T)[ξ] for the TM x TM output gradient gy (the adjoint of tile_out). */
static void tile_out_adj(float *restrict gm, int64_t os, const float *restrict gy, int64_t rs)
{
    float t[TN][TM][LANES]; /* t[k][a]: row a of gy times A^T */
    for (int a = 0; a < TM; a++)
        for (int l = 0; l < LANES; l++) {
            float v[TM], o[TN];
            _Pragma("GCC unroll 4") for (int b = 0; b < TM; b++)
                v[b] = gy[a * rs + b * LANES + l];
            A4(v, o);
            _Pragma("GCC unroll 4") for (int k = 0; k < TN; k++)
                t[k][a][l] = o[k];
        }
    for (int k = 0; k < TN; k++)
        for (int l = 0; l < LANES; l++) {
            float v[TM], o[TN];
            _Pragma("GCC unroll 4") for (int a = 0; a < TM; a++)
                v[a] = t[k][a][l];
            A4(v, o);
            _Pragma("GCC unroll 4") for (int i = 0; i < TN; i++)
                gm[(TN * i + k) * os + l] = o[i];
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
    int64_t cols = TM * g->TW + 2, rs = g->bw;
    for (int64_t th = 0; th < g->TH; th++) {
        /* padded rows TM th .. TM th + TM + 1; the first two are the last two of the previous */
        int r0 = th == 0 ? 0 : 2;
        if (th > 0)
            memcpy(band, band + TM * rs, sizeof(float) * (size_t)(2 * rs));
        for (int r = r0; r < TN; r++)
            band_fill(band + r * rs, cols, x, g->H, g->W, TM * th - g->ph + r, nc, g->pw);
        for (int64_t tw = 0; tw < g->TW; tw++)
            tile_in(V + (th * g->TW + tw) * g->Cp, vs, band + TM * tw * LANES, rs);
    }
}

/* gx = the adjoint input transforms of gV for image gx (planes from the block's first). */
static void input_block_adj(float *gx, const float *gV, int64_t vs, int64_t nc,
                            const struct wgeom *g, float *band)
{
    int64_t rs = g->bw;
    memset(band, 0, sizeof(float) * (size_t)(TN * rs));
    for (int64_t th = 0; th <= g->TH; th++) {
        if (th < g->TH)
            for (int64_t tw = 0; tw < g->TW; tw++)
                tile_in_adj(band + TM * tw * LANES, rs, gV + (th * g->TW + tw) * g->Cp, vs);
        /* padded rows TM th .. TM th + TM - 1 are complete (two more after the last tile row) */
        for (int r = 0; r < (th < g->TH ? TM : 2); r++)
            band_flush(gx, g->H, g->W, TM * th - g->ph + r, nc, band + r * rs, g->pw);
        memcpy(band, band + TM * rs, sizeof(float) * (size_t)(2 * rs));
        memset(band + 2 * rs, 0, sizeof(float) * (size_t)(TM * rs));
    }
}

/* y = the output transforms of M plus bias (LANES values) for image y. */
static void output_block(float *y, const float *M, int64_t ms, const float *bias, int64_t nc,
                         const struct wgeom *g, float *band)
{
    int64_t rs = TM * g->TW * LANES;
    for (int64_t th = 0; th < g->TH; th++) {
        for (int64_t tw = 0; tw < g->TW; tw++)
            tile_out(band + TM * tw * LANES, rs, M + (th * g->TW + tw) * g->Op, ms, bias);
        for (int a = 0; a < TM; a++)
            band_flush(y, g->OH, g->OW, TM * th + a, nc, band + a * rs, 0);
    }
}

/* gM = the adjoint output transforms of image gy. */
static void output_block_adj(float *gM, int64_t ms, const float *gy, int64_t nc,
                             const struct wgeom *g, float *band)
{
    int64_t cols = TM * g->TW, rs = cols * LANES;
    for (int64_t th = 0; th < g->TH; th++) {
        for (int a = 0; a < TM; a++)
            band_fill(band + a * rs, cols, gy, g->OH, g->OW, TM * th + a, nc, 0);
        for (int64_t tw = 0; tw < g->TW; tw++)
            tile_out_adj(gM + (th * g->TW + tw) * g->Op, ms, band + TM * tw * LANES, rs);
    }
}

/* ---- chunked passes over (image, block of channels) ---- */

enum pass { IN_FWD, IN_ADJ, OUT_FWD, OUT_ADJ };

/* One transform over images n0 .. n0 + nb - 1 of the tensor t ([N, chans, plane]); buf is V
 * or M of the chunk ([NPOS][nb TPI][chans rounded up]). */
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
        float *band = bands + omp_get_thread_num() * TN * g->bw;
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
 * time): U or gU [NPOS][O][C] (both in backward), V, M, and a band per thread. */
struct wscratch {
    float *U, *gU, *V, *M, *bands;
    float *base;
    size_t bytes;
};

static int scratch_get(struct wscratch *s, const struct wgeom *g, int nU)
{
    int64_t T = g->nb * g->TPI, at = 0;
    int64_t sizes[4] = {NPOS * g->O * g->C, NPOS * T * g->Cp, NPOS * T * g->Op,
                        omp_get_max_threads() * TN * g->bw};
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
        if (core_interrupted()) {
            core_free(s.base, s.bytes);
            return err_set("conv2d: interrupted");
        }
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
        if (core_interrupted()) {
            core_free(s.base, s.bytes);
            return err_set("conv2d backward: interrupted");
        }
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
