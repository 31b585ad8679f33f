"""PyTorch reference for the bilinear-MLP image classifier of BILINEAR_SPEC.md (Pearce et al.,
ICLR 2025): model, training loop and eigendecomposition, on MNIST, Fashion-MNIST or the MNIST
"similarity" task, so loupe's implementation can be compared with it for fidelity and speed.

Usage (Debian's python3-torch 1.13; stdlib only besides torch):
  OMP_WAIT_POLICY=passive /usr/bin/python3 tests/bench/bilinear_mnist_torch.py \
      --task mnist|fashion_mnist|similarity --epochs N --threads T [--data datasets] [--quiet]
      [--seed S]
OMP_WAIT_POLICY=passive must be set by the caller: libgomp reads it at start-up, and without it
idle OpenMP threads spin and steal the CPU from whatever runs beside (the loupe side of a
comparison, or the Python interpreter itself).

Output: one line per epoch (unless --quiet)
  epoch E train/loss L train/acc A val/loss L val/acc A lr LR time S
(lr is the rate used during that epoch; time is the epoch's wall time including the validation
pass), then machine-readable lines:
  val_acc X / train_seconds S (the fit only: no data loading, no decomposition) / max_rss_kb K
  mnist, fashion_mnist: top_eigenvalue_class_c V for c = 0..9 (the digit / class label),
  similarity: class 1 ("similar") of the bias-augmented decomposition (spec section 7):
    top_eigenvalue, top_bias_weight (v'[H]^2), cos_top_target, cos_top_inverse (|cos| of the
    literal top eigenvector's p'[0:D] with t and 1 - t), pattern_index (0-based position in the
    ascending spectrum of the highest-eigenvalue component with v'[H]^2 < 0.5), pattern_eigenvalue,
    cos_pattern_target, cos_pattern_inverse.
  decomp_max_abs_err: max |logit_c(x) - sum_k lambda_ck (p_ck . x)^2| over 256 test images and
    all classes (the augmented form is checked against logit + 1 with x' = [x, 1]).

Deliberate simplification: batches come from torch.randperm on the global RNG rather than a
DataLoader (whose RandomSampler draws a fresh generator seed each epoch and collates item by item);
the distribution is the same, only the exact random stream differs, which nothing outside
PyTorch could reproduce anyway.
"""
import argparse
import gzip
import os
import resource
import struct
import time

import torch
import torch.nn.functional as F

# Section 4 of the spec.
CONFIGS = {
    "mnist": dict(folder="mnist", H=512, C=10, bias=False, wd=1.0, std=0.5, p=1.0, seed=420),
    "fashion_mnist": dict(folder="fashion-mnist", H=512, C=10, bias=False, wd=1.0, std=0.5,
                          p=1.0, seed=420),
    "similarity": dict(folder="mnist", H=64, C=2, bias=True, wd=1.0, std=0.1, p=1.0, seed=42),
}
LR, BATCH, NOISE_MEAN = 1e-3, 2048, 0.0
TARGET_INDEX, SIM_THRESHOLD = 6, 0.4


def read_idx(folder, name):
    """One IDX file (raw or .gz) as a uint8 tensor of its declared shape."""
    path = os.path.join(folder, name)
    if os.path.exists(path):
        with open(path, "rb") as f:
            raw = f.read()
    elif os.path.exists(path + ".gz"):
        with gzip.open(path + ".gz", "rb") as f:
            raw = f.read()
    else:
        raise SystemExit("missing %s(.gz)" % path)
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != 0x08:
        raise SystemExit("%s: not an unsigned-byte IDX file" % path)
    shape = struct.unpack(">%dI" % ndim, raw[4:4 + 4 * ndim])
    data = torch.frombuffer(bytearray(raw[4 + 4 * ndim:]), dtype=torch.uint8)
    return data.reshape(shape)


def load_split(folder, prefix):
    """Images as float32 N x 784 in [0, 1] (row-major flatten), labels int64."""
    x = read_idx(folder, prefix + "-images-idx3-ubyte")
    y = read_idx(folder, prefix + "-labels-idx1-ubyte")
    return x.reshape(x.shape[0], -1).float().div_(255.0), y.long()


def similarity_labels(x, t):
    """1 if cos(x, t) > 0.4 or cos(x, 1 - t) > 0.4 (spec section 6), with the seed's
    F.cosine_similarity; in row chunks, since it makes several N x D temporaries."""
    out = []
    for chunk in x.split(4096):
        pos = F.cosine_similarity(chunk, t.unsqueeze(0), dim=1)
        neg = F.cosine_similarity(chunk, (1 - t).unsqueeze(0), dim=1)
        out.append(((pos > SIM_THRESHOLD) | (neg > SIM_THRESHOLD)).long())
    return torch.cat(out)


class BilinearMLP(torch.nn.Module):
    """embed (H x D, no bias) -> (W_l z + b_l) * (W_r z + b_r) -> head (C x H, no bias)."""

    def __init__(self, D, H, C, bias, seed):
        super().__init__()
        torch.manual_seed(seed)  # creation order W_e, W (then b), W_u, as the seed
        self.H = H
        self.embed = torch.nn.Linear(D, H, bias=False)
        self.bilinear = torch.nn.Linear(H, 2 * H, bias=bias)
        self.head = torch.nn.Linear(H, C, bias=False)

    def forward(self, x):
        lr = self.bilinear(self.embed(x))
        return self.head(lr[:, :self.H] * lr[:, self.H:])


def gaussian_noise(x, mean, std, p):
    """kornia RandomGaussianNoise: each sample selected with probability p (no draw when p is 0
    or 1), every pixel of a selected sample gets + N(mean, std^2); no clamping."""
    if p >= 1.0:
        return x + (torch.randn_like(x) * std + mean)
    if p <= 0.0:
        return x
    chosen = torch.bernoulli(torch.full((x.shape[0],), p)) > 0.5
    out = x.clone()
    sel = x[chosen]
    out[chosen] = sel + (torch.randn_like(sel) * std + mean)
    return out


def step(model, x, y):
    logits = model(x)
    return F.cross_entropy(logits, y), (logits.argmax(dim=1) == y).float().mean()


def fit(model, cfg, epochs, train, test, quiet):
    """Spec section 2. Returns the final val accuracy."""
    torch.manual_seed(cfg["seed"])
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=cfg["wd"])
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    (tx, ty), (vx, vy) = train, test
    n = tx.shape[0]
    val_acc = float("nan")
    for e in range(epochs):
        t0 = time.perf_counter()
        lr_now = opt.param_groups[0]["lr"]
        perm = torch.randperm(n)
        losses, accs = [], []
        model.train()
        for b in range(n // BATCH):  # drop_last
            idx = perm[b * BATCH:(b + 1) * BATCH]
            xb = gaussian_noise(tx[idx], NOISE_MEAN, cfg["std"], cfg["p"])
            loss, acc = step(model, xb, ty[idx])
            losses.append(loss.item())
            accs.append(acc.item())
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
        model.eval()
        with torch.no_grad():
            val_loss, val_acc_t = step(model, vx, vy)
        val_acc = val_acc_t.item()
        if not quiet:
            print("epoch %d train/loss %.6f train/acc %.6f val/loss %.6f val/acc %.6f lr %.6e "
                  "time %.3f" % (e + 1, sum(losses) / len(losses), sum(accs) / len(accs),
                                 val_loss.item(), val_acc, lr_now, time.perf_counter() - t0),
                  flush=True)
    return val_acc


def decompose(W_e, W_l, W_r, W_u):
    """Spec section 7: eigh of the symmetrised B_c, eigenvectors projected by W_e^T.
    Returns values C x H (ascending) and projected vectors C x H x D."""
    B = torch.einsum("co,oi,oj->cij", W_u, W_l, W_r)
    Q = 0.5 * (B + B.transpose(1, 2))
    vals, vecs = torch.linalg.eigh(Q)  # vecs[c, :, k] is eigenvector k
    proj = torch.einsum("ceb,ed->cbd", vecs, W_e)
    return vals, vecs, proj


def augmented(model):
    """Bias-augmented matrices of spec section 7 (the scasper.py construction)."""
    H = model.H
    W = model.bilinear.weight.detach()
    b = model.bilinear.bias.detach()
    one = torch.eye(1)
    W_l = torch.block_diag(W[:H], one)
    W_l[:H, H] = b[:H]
    W_r = torch.block_diag(W[H:], one)
    W_r[:H, H] = b[H:]
    W_u = torch.cat([model.head.weight.detach(), torch.ones(model.head.weight.shape[0], 1)], 1)
    W_e = torch.block_diag(model.embed.weight.detach(), one)
    return W_e, W_l, W_r, W_u


def abs_cos(a, b):
    a, b = a.double(), b.double()
    return abs(float(a @ b) / (float(a.norm()) * float(b.norm())))


def check_exact(model, vals, proj, x, offset):
    """max |logit + offset - sum_k lambda_k (p_k . x)^2| over the classes and images x."""
    with torch.no_grad():
        logits = model(x[:, :model.embed.in_features])
        recon = torch.einsum("ck,nck->nc", vals, torch.einsum("ckd,nd->nck", proj, x) ** 2)
    return float((logits + offset - recon).abs().max())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--task", required=True, choices=sorted(CONFIGS))
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data", default="datasets")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--seed", type=int, help="instead of the configuration's seed")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = dict(CONFIGS[args.task])
    if args.seed is not None:
        cfg["seed"] = args.seed

    folder = os.path.join(args.data, cfg["folder"])
    train = load_split(folder, "train")
    test = load_split(folder, "t10k")
    if args.task == "similarity":
        target = train[0][TARGET_INDEX].clone()
        train = (train[0], similarity_labels(train[0], target))
        test = (test[0], similarity_labels(test[0], target))
        print("similar_fraction_train %.6f test %.6f"
              % (train[1].float().mean().item(), test[1].float().mean().item()))

    D = train[0].shape[1]
    model = BilinearMLP(D, cfg["H"], cfg["C"], cfg["bias"], cfg["seed"])
    t0 = time.perf_counter()
    val_acc = fit(model, cfg, args.epochs, train, test, args.quiet)
    train_seconds = time.perf_counter() - t0
    print("val_acc %.6f" % val_acc)
    print("train_seconds %.3f" % train_seconds)
    print("max_rss_kb %d" % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)

    H = cfg["H"]
    sample = test[0][:256]
    with torch.no_grad():
        if args.task == "similarity":
            vals, vecs, proj = decompose(*augmented(model))
            x_aug = torch.cat([sample, torch.ones(sample.shape[0], 1)], 1)
            err = check_exact(model, vals, proj, x_aug, 1.0)
            lam, v, p = vals[1], vecs[1], proj[1]  # class 1, "similar"
            bias_w = v[H, :] ** 2
            top = H  # last of the H + 1 ascending eigenvalues
            pattern = max(k for k in range(H + 1) if bias_w[k] < 0.5)
            print("top_eigenvalue %.6f" % lam[top])
            print("top_bias_weight %.6f" % bias_w[top])
            print("cos_top_target %.6f" % abs_cos(p[top, :D], target))
            print("cos_top_inverse %.6f" % abs_cos(p[top, :D], 1 - target))
            print("pattern_index %d" % pattern)
            print("pattern_eigenvalue %.6f" % lam[pattern])
            print("pattern_bias_weight %.6f" % bias_w[pattern])
            print("cos_pattern_target %.6f" % abs_cos(p[pattern, :D], target))
            print("cos_pattern_inverse %.6f" % abs_cos(p[pattern, :D], 1 - target))
        else:
            W = model.bilinear.weight.detach()
            vals, vecs, proj = decompose(model.embed.weight.detach(), W[:H], W[H:],
                                         model.head.weight.detach())
            err = check_exact(model, vals, proj, sample, 0.0)
            for c in range(cfg["C"]):
                print("top_eigenvalue_class_%d %.6f" % (c, vals[c, -1]))
    print("decomp_max_abs_err %.3e" % err)


if __name__ == "__main__":
    main()
