/* nn.h — the layer, loss and optimizer primitives (C kernels with autograd).
 *
 * Same conventions as ops.h: arguments borrowed, result owned, NULL + err_set on failure with
 * a message naming the op and the shapes; the op records itself on the tape when needed.
 * Shapes: images are [N, C, H, W] (a 3-D [C, H, W] input is accepted as a batch of one by the
 * Lua layer, not here). Optional tensors (bias, weight) may be NULL. */
#ifndef LOUPE_NN_H
#define LOUPE_NN_H

#include "loupe/tensor.h"

/* y = x w^T + b: x [..., in], w [out, in], b [out] or NULL -> [..., out] */
struct tensor *op_linear(struct tensor *x, struct tensor *w, struct tensor *b);

/* Bilinear MLP layer of BILINEAR_SPEC: w [2H, D] (left rows 0..H-1, right rows H..2H-1),
 * b [2H] or NULL; x [..., D] -> (x w_l^T + b_l) * (x w_r^T + b_r) [..., H]. */
struct tensor *op_bilinear(struct tensor *x, struct tensor *w, struct tensor *b);

struct conv2d_params {
    int stride[2], padding[2], dilation[2], groups;
};
/* x [N, C, H, W], w [O, C/groups, kh, kw], b [O] or NULL -> [N, O, OH, OW] */
struct tensor *op_conv2d(struct tensor *x, struct tensor *w, struct tensor *b,
                         const struct conv2d_params *p);

/* Batch normalisation over dim 1 of x [N, C] or [N, C, *]. In training mode uses the batch
 * statistics and, if running_mean/var are given, updates them in place with `momentum`
 * (unbiased variance, as PyTorch); in eval mode uses the running statistics. weight/bias
 * (the affine parameters, [C]) may be NULL. */
struct tensor *op_batch_norm(struct tensor *x, struct tensor *weight, struct tensor *bias,
                             struct tensor *running_mean, struct tensor *running_var,
                             bool training, double momentum, double eps);

struct pool2d_params {
    int kernel[2], stride[2], padding[2], dilation[2];
    bool ceil_mode, count_include_pad;
};
struct tensor *op_max_pool2d(struct tensor *x, const struct pool2d_params *p);
struct tensor *op_avg_pool2d(struct tensor *x, const struct pool2d_params *p);
struct tensor *op_adaptive_avg_pool2d(struct tensor *x, int64_t oh, int64_t ow);
/* idx, if not NULL, receives the argmax of each output as int64 flat positions h*W + w within
 * its plane, plus index_base (1 from Lua), like op_max. */
struct tensor *op_adaptive_max_pool2d(struct tensor *x, int64_t oh, int64_t ow,
                                      struct tensor **idx, int64_t index_base);

/* Inverted dropout: zeroes each element with probability p (seeded generator) and scales
 * the rest by 1/(1-p); identity when !training or p == 0. */
struct tensor *op_dropout(struct tensor *x, double p, bool training);

enum reduction { RED_NONE, RED_MEAN, RED_SUM };
/* logits [N, C] or [N, C, *]; target int64 class positions + index_base, [N] or [N, *];
 * label smoothing as PyTorch; weight [C] or NULL. */
struct tensor *op_cross_entropy(struct tensor *logits, struct tensor *target, int64_t index_base,
                                struct tensor *weight, enum reduction red,
                                double label_smoothing);
struct tensor *op_nll_loss(struct tensor *logp, struct tensor *target, int64_t index_base,
                           struct tensor *weight, enum reduction red);
struct tensor *op_mse_loss(struct tensor *a, struct tensor *b, enum reduction red);
struct tensor *op_bce_with_logits(struct tensor *x, struct tensor *y, struct tensor *pos_weight,
                                  enum reduction red);

/* ---- optimizer steps: fused loops updating p (and the state) in place, no autograd ---- */
/* SGD as torch.optim.SGD: buf may be NULL when momentum == 0. step counts from 1. */
int optim_sgd_step(struct tensor *p, struct tensor *g, struct tensor *buf, double lr,
                   double momentum, double dampening, double weight_decay, bool nesterov,
                   int64_t step);
/* Adam (decoupled = false, L2 through the gradient) and AdamW (decoupled = true) as torch. */
int optim_adam_step(struct tensor *p, struct tensor *g, struct tensor *m, struct tensor *v,
                    double lr, double beta1, double beta2, double eps, double weight_decay,
                    bool decoupled, int64_t step);

#endif
