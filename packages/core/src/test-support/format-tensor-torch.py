#!/usr/bin/python3
"""Writes format-tensor-torch.json: PyTorch 1.13's own printing, the oracle for formatTensor's tests.

Each case stores the tensor (values exactly as float32/float64 doubles), the print options, torch's
repr(t), and torch's layout of the same body with formatTensor's suffixes (shape=[..], dtype=..),
made by torch._tensor_str's own _tensor_str and _add_suffixes. Run: /usr/bin/python3 <this file>.
"""
import json
import math
import os

import torch
import torch._tensor_str as ts

DEFAULTS = dict(precision=4, threshold=1000, edgeitems=3, linewidth=80, sci_mode=None)


def case(name, t, **opts):
    options = {**DEFAULTS, **opts}
    torch.set_printoptions(**options)
    try:
        body = ts._tensor_str(t, 7) if t.numel() > 0 else '[]'
        suffixes = ['shape=[' + ', '.join(str(d) for d in t.shape) + ']', 'dtype=' + str(t.dtype).replace('torch.', '')]
        ours = ts._add_suffixes('tensor(' + body, suffixes, 7, False)
        values = [v if math.isfinite(v) else str(v) for v in t.reshape(-1).tolist()]
        return {
            'name': name,
            'shape': list(t.shape),
            'dtype': str(t.dtype).replace('torch.', ''),
            'data': values,
            'options': {'precision': options['precision'], 'threshold': options['threshold'], 'edgeitems': options['edgeitems'],
                        'linewidth': options['linewidth'], 'sciMode': options['sci_mode']},
            'torchRepr': repr(t),
            'expected': ours,
        }
    finally:
        torch.set_printoptions(profile='default')
        torch.set_printoptions(sci_mode=None)


def main():
    g = torch.Generator().manual_seed(17)
    r = lambda *s, dtype=torch.float32: torch.randn(*s, generator=g, dtype=dtype)
    f = torch.float32
    cases = [
        case('scalar', torch.tensor(3.25)),
        case('vector', r(5)),
        case('matrix', r(3, 4)),
        case('batch x tokens x d (the book input)', torch.tensor([[0.43, 0.15, 0.89], [0.55, 0.87, 0.66], [0.57, 0.85, 0.64],
                                                                 [0.22, 0.58, 0.33], [0.77, 0.25, 0.10], [0.05, 0.80, 0.55]]).repeat(2, 1, 1)),
        case('4-d attention weights', torch.softmax(r(2, 2, 3, 3), -1)),
        case('integers stay in int mode', torch.tensor([[1., -2., 3.], [40., 5., 0.]])),
        case('integers with a wide range go scientific', torch.tensor([1., 2000., 3.])),
        case('small values go scientific', torch.tensor([1e-5, 0.5, -0.25])),
        case('large range goes scientific', torch.tensor([0.001, 5.0, 123.0])),
        case('big values go scientific', torch.tensor([1.5e9, -2.0, 3.0])),
        case('nan and infinities', torch.tensor([float('nan'), float('inf'), -float('inf'), 1.5, 0.0])),
        case('nan and infinities in int mode', torch.tensor([float('nan'), float('inf'), 2.0])),
        case('all zeros', torch.zeros(2, 3)),
        case('negative zero', torch.tensor([-0.0, 0.5, 1.25])),
        case('rounds to negative zero', torch.tensor([-0.00001, 0.5, 0.25])),
        case('ties round half to even', torch.tensor([0.03125, 0.09375, -0.03125, 1.5, 2.5], dtype=torch.float64), precision=4),
        case('ties at precision 0', torch.tensor([0.5, 1.5, 2.5, -0.5, 0.25]), precision=0),
        case('ties in scientific mode', torch.tensor([1.03125e-5, 3.0]), precision=4),
        case('float64', r(2, 3, dtype=torch.float64)),
        case('precision 2', r(2, 3), precision=2),
        case('precision 8', r(3), precision=8),
        case('long vector wraps at linewidth', r(40)),
        case('long vector, narrow line', r(12), linewidth=40),
        case('elided vector at the default threshold', r(1001)),
        case('elided matrix', r(12, 12), threshold=100),
        case('elided 3-d', r(8, 7, 8), threshold=100),
        case('elided with edgeitems 2', r(6, 30), edgeitems=2, threshold=100),
        case('threshold forces elision', r(4, 9), threshold=10),
        case('sci mode forced on', r(2, 2), sci_mode=True),
        case('sci mode forced off', torch.tensor([1e-5, 0.5]), sci_mode=False),
        case('empty', torch.zeros(0, 3)),
        case('empty vector', torch.zeros(0)),
        case('one element per line', r(4), linewidth=10),
        case('suffix wraps after a long last line', r(11), linewidth=70),
        case('rank 5', r(1, 2, 1, 2, 2)),
        case('wide values in a matrix', torch.tensor([[123.456, -7.5], [0.001, 99.0]], dtype=f)),
    ]
    out = {'format': 'mha-format-tensor-oracle/1', 'oracle': 'torch ' + torch.__version__, 'cases': cases}
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'format-tensor-torch.json')
    with open(path, 'w', encoding='utf-8', newline='\n') as fh:
        fh.write(json.dumps(out, indent=1) + '\n')
    print(f'wrote {len(cases)} cases to {path}')


if __name__ == '__main__':
    main()
