"""PyTorch counterpart of resnet18_step.lua: ResNet-18 forward + backward on a batch of
16 x 3 x 224 x 224 (training mode, cross-entropy on random labels). Prints 'step_seconds S' for
each of `reps` steps (after one warm-up step) and 'max_rss_kb K'.
Usage: python3 resnet18_step_torch.py THREADS REPS"""
import resource
import sys
import time

import torch
import torchvision

threads, reps = int(sys.argv[1]), int(sys.argv[2])
torch.set_num_threads(threads)
torch.manual_seed(0)
model = torchvision.models.resnet18()
model.train()
x = torch.randn(16, 3, 224, 224)
y = torch.randint(0, 1000, (16,))


def step():
    model.zero_grad(set_to_none=True)
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()


step()
for _ in range(reps):
    t0 = time.perf_counter()
    step()
    print("step_seconds %.4f" % (time.perf_counter() - t0), flush=True)
print("max_rss_kb %d" % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
