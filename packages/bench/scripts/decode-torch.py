"""PyTorch's cached decode step (issue 14), the anchor for packages/bench/src/decode.ts.

Run with the Debian PyTorch: /usr/bin/python3 packages/bench/scripts/decode-torch.py [--json out.json]
Shapes as in decode.ts: 12 heads x 64 (GPT-2 small layer, d = 768), float32, CPU.
- step-1024-core: attention of one new token over 1,024 cached + 1 new keys, with the cat of the cache
  (the same scope as the core-op cell);
- step-1024-layer: the whole cached layer step: the projections of one token (x Wqkv + b), the cat of
  the new k/v onto the cache, attention, and the output projection (what a decoder runs per token);
- gen-256-core: 256 core-op steps from a 16-token prompt, tokens/s.
"""
import json
import os
import statistics
import sys
import time

import torch

torch.manual_seed(0)
H, D = 12, 64
E = H * D


def attend(q, k, v):
    s = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / D**0.5)
    return torch.matmul(torch.softmax(s, dim=-1), v)


def timed(fn, n_min=20, budget=2.0):
    for _ in range(5):
        fn()
    times = []
    end = time.perf_counter() + budget
    while len(times) < n_min or (time.perf_counter() < end and len(times) < 500):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), len(times)


with torch.no_grad():
    past_k = torch.randn(1, H, 1024, D)
    past_v = torch.randn(1, H, 1024, D)
    q = torch.randn(1, H, 1, D)
    k = torch.randn(1, H, 1, D)
    v = torch.randn(1, H, 1, D)
    core_ms, core_n = timed(lambda: attend(q, torch.cat([past_k, k], 2), torch.cat([past_v, v], 2)))

    qkv = torch.nn.Linear(E, 3 * E)
    out = torch.nn.Linear(E, E)
    x = torch.randn(1, 1, E)

    def layer_step():
        a, b, c = qkv(x).split(E, dim=-1)
        heads = lambda t: t.view(1, 1, H, D).transpose(1, 2)
        ctx = attend(heads(a), torch.cat([past_k, heads(b)], 2), torch.cat([past_v, heads(c)], 2))
        return out(ctx.transpose(1, 2).reshape(1, 1, E))

    layer_ms, layer_n = timed(layer_step)

    def gen():
        pk = torch.randn(1, H, 16, D)
        pv = torch.randn(1, H, 16, D)
        t0 = time.perf_counter()
        for _ in range(256):
            t = torch.randn(1, H, 1, D)
            pk = torch.cat([pk, t], 2)
            pv = torch.cat([pv, t], 2)
            attend(t, pk, pv)
        return time.perf_counter() - t0

    gen()
    gen_s = min(gen(), gen())

result = {
    "torch": torch.__version__,
    "threads": torch.get_num_threads(),
    "loadAverage1m": round(os.getloadavg()[0], 1),
    "step1024CoreMs": round(core_ms, 3),
    "step1024CoreSamples": core_n,
    "step1024LayerMs": round(layer_ms, 3),
    "step1024LayerSamples": layer_n,
    "gen256CoreTokensPerSecond": round(256 / gen_s),
}
print(json.dumps(result, indent=2))
if "--json" in sys.argv:
    with open(sys.argv[sys.argv.index("--json") + 1], "w") as f:
        f.write(json.dumps(result, indent=2) + "\n")
