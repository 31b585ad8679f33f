#!/usr/bin/python3
"""conv_vs_torch.py — loupe's conv2d against PyTorch's on the convolution shapes of ResNet-18
(batch 16 x 3 x 224 x 224), forward and forward+backward, same thread count.

Rounds alternate: `./loupe tests/bench/conv.lua --machine` in a subprocess, then the same
shapes timed here in PyTorch, so frequency changes and neighbours' load hit both alike. Each
side reports per-shape medians of REPS runs per round; the table shows the median over rounds
and the ratio loupe / torch (below 1: loupe is faster). The ResNet-18 line weights each shape
by how often it occurs in the network (conv layers only: no batch norm, ReLU or pooling).

Both sides run with OMP_WAIT_POLICY=passive (loupe's setting) and THREADS threads
(torch.set_num_threads; LOUPE_THREADS for loupe). PyTorch 1.13 on x86 convolves through
oneDNN (MKL-DNN), loupe through im2col + OpenBLAS sgemm.

Usage: /usr/bin/python3 tests/bench/conv_vs_torch.py [THREADS=2] [ROUNDS=5] [REPS=3]
"""
import os
import statistics
import subprocess
import sys
import time

THREADS = int(sys.argv[1]) if len(sys.argv) > 1 else 2
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 5
REPS = int(sys.argv[3]) if len(sys.argv) > 3 else 3
os.environ["OMP_WAIT_POLICY"] = "passive"  # before torch starts its OpenMP pool

import torch  # noqa: E402
import torch.nn.functional as Fn  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# name, count in ResNet-18, input, weight, stride, padding (as in conv.lua)
SHAPES = [
    ("conv1_7x7s2", 1, (16, 3, 224, 224), (64, 3, 7, 7), 2, 3),
    ("layer1_3x3", 4, (16, 64, 56, 56), (64, 64, 3, 3), 1, 1),
    ("layer2_3x3s2", 1, (16, 64, 56, 56), (128, 64, 3, 3), 2, 1),
    ("layer2_3x3", 3, (16, 128, 28, 28), (128, 128, 3, 3), 1, 1),
    ("layer2_1x1s2", 1, (16, 64, 56, 56), (128, 64, 1, 1), 2, 0),
    ("layer3_3x3s2", 1, (16, 128, 28, 28), (256, 128, 3, 3), 2, 1),
    ("layer3_3x3", 3, (16, 256, 14, 14), (256, 256, 3, 3), 1, 1),
    ("layer3_1x1s2", 1, (16, 128, 28, 28), (256, 128, 1, 1), 2, 0),
    ("layer4_3x3s2", 1, (16, 256, 14, 14), (512, 256, 3, 3), 2, 1),
    ("layer4_3x3", 3, (16, 512, 7, 7), (512, 512, 3, 3), 1, 1),
    ("layer4_1x1s2", 1, (16, 256, 14, 14), (512, 256, 1, 1), 2, 0),
]


def torch_round():
    """{name: (forward ms, forward+backward ms)}: medians of REPS runs after a warm-up."""
    out = {}
    for name, _, xs, ws, stride, pad in SHAPES:
        x = torch.randn(xs, requires_grad=name != "conv1_7x7s2")
        w = (torch.randn(ws) * 0.05).requires_grad_()
        with torch.no_grad():
            gy = torch.randn(Fn.conv2d(x, w, stride=stride, padding=pad).shape)

        def fwd():
            with torch.no_grad():
                return Fn.conv2d(x, w, stride=stride, padding=pad)

        def step():
            x.grad = w.grad = None
            Fn.conv2d(x, w, stride=stride, padding=pad).backward(gy)

        fwd()
        step()
        tf, ts = [], []
        for _ in range(REPS):
            t0 = time.perf_counter()
            fwd()
            t1 = time.perf_counter()
            step()
            t2 = time.perf_counter()
            tf.append((t1 - t0) * 1e3)
            ts.append((t2 - t1) * 1e3)
        out[name] = (statistics.median(tf), statistics.median(ts))
    return out


def loupe_round():
    env = dict(os.environ, LOUPE_THREADS=str(THREADS))
    res = subprocess.run([os.path.join(ROOT, "loupe"), "tests/bench/conv.lua", "--machine",
                          "--reps", str(REPS)], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True)
    out = {}
    for line in res.stdout.splitlines():
        tag, name, f, s = line.split()
        if tag == "conv":
            out[name] = (float(f), float(s))
    return out


def main():
    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    runs = {"loupe": [], "torch": []}
    for r in range(ROUNDS):
        runs["loupe"].append(loupe_round())
        runs["torch"].append(torch_round())
        print(f"round {r + 1}/{ROUNDS} done", file=sys.stderr, flush=True)

    def med(side, name, k):
        return statistics.median(run[name][k] for run in runs[side])

    print(f"== conv2d, ResNet-18 shapes, batch 16, {THREADS} threads, OMP_WAIT_POLICY=passive, "
          f"{ROUNDS} alternating rounds x {REPS} runs (medians; ratio = loupe / torch)")
    print(f"{'shape':<14} {'n':>2}  {'fwd loupe':>9} {'torch':>8} {'ratio':>6}   "
          f"{'fwd+bwd loupe':>13} {'torch':>8} {'ratio':>6}")
    tot = {"loupe": [0.0, 0.0], "torch": [0.0, 0.0]}
    for name, count, *_ in SHAPES:
        v = {side: (med(side, name, 0), med(side, name, 1)) for side in runs}
        for side in runs:
            tot[side][0] += count * v[side][0]
            tot[side][1] += count * v[side][1]
        print(f"{name:<14} {count:>2}  {v['loupe'][0]:8.1f}ms {v['torch'][0]:6.1f}ms "
              f"{v['loupe'][0] / v['torch'][0]:6.2f}   {v['loupe'][1]:11.1f}ms "
              f"{v['torch'][1]:6.1f}ms {v['loupe'][1] / v['torch'][1]:6.2f}")
    print(f"{'ResNet-18 conv':<14} {'':>2}  {tot['loupe'][0]:8.1f}ms {tot['torch'][0]:6.1f}ms "
          f"{tot['loupe'][0] / tot['torch'][0]:6.2f}   {tot['loupe'][1]:11.1f}ms "
          f"{tot['torch'][1]:6.1f}ms {tot['loupe'][1] / tot['torch'][1]:6.2f}")


if __name__ == "__main__":
    main()
