"""PyTorch counterpart of bilinear_epoch.lua: one training epoch of the seed's CIFAR-10
bilinear-MLP configuration (BILINEAR_SPEC.md: 50,000 x 1024 inputs, d_hidden 512, 10 classes,
batch 2048 with drop_last, AdamW lr 1e-3 wd 1.0, Gaussian input noise std 0.5), on synthetic
data of the same shape. Prints 'epoch_seconds S' for each of `reps` epochs and 'max_rss_kb K'.
Usage: python3 bilinear_epoch_torch.py THREADS REPS"""
import resource
import sys
import time

import torch

threads, reps = int(sys.argv[1]), int(sys.argv[2])
torch.set_num_threads(threads)
torch.manual_seed(0)
N, D, H, C, B = 50000, 1024, 512, 10, 2048
x = torch.rand(N, D)
y = torch.randint(0, C, (N,))
embed = torch.nn.Linear(D, H, bias=False)
bil = torch.nn.Linear(H, 2 * H, bias=False)
head = torch.nn.Linear(H, C, bias=False)
params = list(embed.parameters()) + list(bil.parameters()) + list(head.parameters())
opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=1.0)


def epoch():
    perm = torch.randperm(N)
    for b in range(N // B):
        idx = perm[b * B:(b + 1) * B]
        xb = x[idx]
        xb = xb + torch.randn_like(xb) * 0.5
        z = embed(xb)
        lr_ = bil(z)
        h = lr_[:, :H] * lr_[:, H:]
        loss = torch.nn.functional.cross_entropy(head(h), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()


for _ in range(reps):
    t0 = time.perf_counter()
    epoch()
    print("epoch_seconds %.4f" % (time.perf_counter() - t0), flush=True)
print("max_rss_kb %d" % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
