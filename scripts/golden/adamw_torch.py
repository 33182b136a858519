"""Reference for test/train/train-step.test.ts: torch.optim.AdamW + clip_grad_norm_ + LambdaLR warmup.

Run with Debian's torch: /usr/bin/python3 scripts/golden/adamw_torch.py > test/golden/adamw-torch.json
Model: y = tanh(x @ W + b) @ V, loss = mean((y - t)^2), float32, deterministic data.
"""
import json
import math
import torch

def det(shape, seed):
    n = math.prod(shape)
    vals = [math.sin(seed * 12.9898 + i * 78.233) * 0.5 for i in range(n)]
    return torch.tensor(vals, dtype=torch.float32).reshape(shape)

x, t = det([6, 3], 1), det([6, 2], 2)
W = det([3, 5], 3).requires_grad_()
b = det([5], 4).requires_grad_()
V = det([5, 2], 5).requires_grad_()
params = [W, b, V]
opt = torch.optim.AdamW(params, lr=0.05, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.1)
warmup = 2
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: s / warmup if s < warmup else 1.0)
steps = []
for step in range(5):
    opt.zero_grad()
    loss = ((torch.tanh(x @ W + b) @ V - t) ** 2).mean()
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(params, 0.5)
    lr = opt.param_groups[0]['lr']
    opt.step()
    sched.step()
    steps.append({'loss': loss.item(), 'grad_norm': norm.item(), 'lr': lr,
                  'W': W.detach().flatten().tolist(), 'b': b.detach().flatten().tolist(), 'V': V.detach().flatten().tolist()})
print(json.dumps({'torch': torch.__version__, 'inputs': {'x': x.flatten().tolist(), 't': t.flatten().tolist(),
    'W': det([3, 5], 3).flatten().tolist(), 'b': det([5], 4).flatten().tolist(), 'V': det([5, 2], 5).flatten().tolist()},
    'config': {'lr': 0.05, 'beta1': 0.9, 'beta2': 0.99, 'eps': 1e-8, 'weight_decay': 0.1, 'warmup': warmup, 'max_grad_norm': 0.5},
    'steps': steps}, indent=1))
