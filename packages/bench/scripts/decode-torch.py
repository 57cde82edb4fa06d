"""PyTorch's cached decode step (issue 14): the anchor of the bench's decode cells (src/measure-decode.ts).

Run with the Debian PyTorch: /usr/bin/python3 packages/bench/scripts/decode-torch.py [--json out.json]
(`pnpm bench -- --torch /usr/bin/python3` runs it inside the bench). Shapes as in the decode cells:
12 heads x 64 (GPT-2 small layer, d = 768), float32, CPU, torch's default thread count.
- step-layer at 512 and 1,024 cached tokens: the whole cached layer step: the projections of one token
  (x Wqkv + b), the cat of the new k/v onto the cache, attention, and the output projection (what a
  decoder runs per token; the module-level cell `forward(x, { cache })`). The two lengths alternate call
  by call, so load from other jobs hits both alike.
- step-core at 1,024: attention of one new token over 1,024 cached + 1 new keys, with the cat of the cache
  (the core-op cells' scope).
- gen-256-layer / gen-256-core: 256 steps from a 16-token prompt (layer: prefill of the prompt, then one
  token at a time through the layer; core: attention only), tokens/s over the 256 steps.
Wall time (perf_counter) and process CPU time (process_time) per call; medians.
"""
import datetime
import json
import os
import platform
import statistics
import sys
import time

import torch

torch.manual_seed(0)
H, D = 12, 64
E = H * D


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def attend(q, k, v):
    s = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / D**0.5)
    return torch.matmul(torch.softmax(s, dim=-1), v)


def paired(fns, n_min=20, budget=2.5, n_max=500):
    """Rounds calling every fn once, in rotating order; per fn the median wall and CPU ms and the count."""
    for _ in range(5):
        for fn in fns:
            fn()
    wall = [[] for _ in fns]
    cpu = [[] for _ in fns]
    end = time.perf_counter() + budget
    r = 0
    while r < n_min or (time.perf_counter() < end and r < n_max):
        for i in range(len(fns)):
            j = (i + r) % len(fns)
            c0 = time.process_time()
            t0 = time.perf_counter()
            fns[j]()
            wall[j].append((time.perf_counter() - t0) * 1000)
            cpu[j].append((time.process_time() - c0) * 1000)
        r += 1
    return [(statistics.median(w), statistics.median(c), len(w)) for w, c in zip(wall, cpu)]


with torch.no_grad():
    qkv = torch.nn.Linear(E, 3 * E)
    out = torch.nn.Linear(E, E)
    x = torch.randn(1, 1, E)
    heads = lambda t: t.view(1, t.shape[1], H, D).transpose(1, 2)

    def layer_step(past_k, past_v, x):
        a, b, c = qkv(x).split(E, dim=-1)
        ctx = attend(heads(a), torch.cat([past_k, heads(b)], 2), torch.cat([past_v, heads(c)], 2))
        return out(ctx.transpose(1, 2).reshape(1, x.shape[1], E))

    past = {n: (torch.randn(1, H, n, D), torch.randn(1, H, n, D)) for n in (512, 1024)}
    q1 = torch.randn(1, H, 1, D)
    k1 = torch.randn(1, H, 1, D)
    v1 = torch.randn(1, H, 1, D)
    (l512, l1024, core) = paired(
        [
            lambda: layer_step(*past[512], x),
            lambda: layer_step(*past[1024], x),
            lambda: attend(q1, torch.cat([past[1024][0], k1], 2), torch.cat([past[1024][1], v1], 2)),
        ]
    )

    def gen_layer():
        prompt = torch.randn(1, 16, E)
        a, b, c = qkv(prompt).split(E, dim=-1)
        pk, pv = heads(b), heads(c)
        s = attend(heads(a), pk, pv)  # the prefill (causality does not matter for timing)
        tokens = [torch.randn(1, 1, E) for _ in range(256)]
        t0 = time.perf_counter()
        for t in tokens:
            a, b, c = qkv(t).split(E, dim=-1)
            pk = torch.cat([pk, heads(b)], 2)
            pv = torch.cat([pv, heads(c)], 2)
            out(attend(heads(a), pk, pv).transpose(1, 2).reshape(1, 1, E))
        return time.perf_counter() - t0

    def gen_core():
        pk = torch.randn(1, H, 16, D)
        pv = torch.randn(1, H, 16, D)
        tokens = [torch.randn(1, H, 1, D) for _ in range(256)]
        t0 = time.perf_counter()
        for t in tokens:
            pk = torch.cat([pk, t], 2)
            pv = torch.cat([pv, t], 2)
            attend(t, pk, pv)
        return time.perf_counter() - t0

    gen_layer()
    gen_core()
    gen_layer_s = statistics.median([gen_layer() for _ in range(3)])
    gen_core_s = statistics.median([gen_core() for _ in range(3)])

result = {
    "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
    "torch": torch.__version__,
    "python": platform.python_version(),
    "threads": torch.get_num_threads(),
    "cpuModel": cpu_model(),
    "logicalCpus": os.cpu_count(),
    "loadAverage1m": round(os.getloadavg()[0], 2),
    "stepLayer512Ms": round(l512[0], 4),
    "stepLayer512CpuMs": round(l512[1], 4),
    "stepLayer1024Ms": round(l1024[0], 4),
    "stepLayer1024CpuMs": round(l1024[1], 4),
    "stepLayerSamples": l1024[2],
    "stepCore1024Ms": round(core[0], 4),
    "stepCore1024CpuMs": round(core[1], 4),
    "gen256LayerTokensPerSecond": round(256 / gen_layer_s, 1),
    "gen256CoreTokensPerSecond": round(256 / gen_core_s, 1),
}
print(json.dumps(result, indent=2))
if "--json" in sys.argv:
    with open(sys.argv[sys.argv.index("--json") + 1], "w") as f:
        f.write(json.dumps(result, indent=2) + "\n")
