"""Reference for test/distill/dmd2-parity.test.ts: one DMD2 training batch (one-step generator) restated in plain
torch around diffusers' UNet2DConditionModel, from tianweiy/DMD2's main/sd_guidance.py and main/sd_unified_model.py
(the commit read is below): the generator's x0 from pure noise at its conditioning timestep, the distribution-matching
gradient and its surrogate loss, the fake score's denoising loss, and the GAN terms of a classifier head on the fake
score's mid-block output, with the gradients each optimizer sees.

Run like tdd_loss_torch.py (Debian's torch, the diffusers tree of ../shared/baselines/setup.sh):

  PYTHONPATH=$BENCH_WORK/src:$BENCH_WORK/stubs:/work/shared/baselines DIFFUSERS_SRC=$BENCH_WORK/src \
    BENCH_STUBS=$BENCH_WORK/stubs /usr/bin/python3 scripts/golden/dmd2_loss_torch.py ../shared/fixtures test/golden

The batch, in the reference's terms (ᾱ from SD's scaled-linear schedule; x0(x, ε, t) = (x − √(1−ᾱ_t)·ε)/√ᾱ_t):
  1. generator: ε = G(z, t_g) on pure noise z, x = x0(z, ε, t_g) with t_g = 399 (the SDXL one-step script's
     conditioning timestep, which our dmd2 preset samples at).
  2. distribution matching, all without gradient: t ~ U{20..980}, x_t = √ᾱ·x + √(1−ᾱ)·n; the real score is the teacher
     with CFG ε_u + s·(ε_c − ε_u), s = 1.75; the fake score is conditional only; p_real = x − x0_real,
     p_fake = x − x0_fake, g = (p_real − p_fake) / mean_CHW|p_real|; loss = ½·mean((x − sg(x − g))²).
  3. fake score: t_f ~ U{0..999}, ε̂ = F(√ᾱ·sg(x) + √(1−ᾱ)·n_f, t_f); loss = mean((ε̂ − n_f)²).
  4. GAN: both classes noised to t_c ~ U{0..999} (the reference's diffusion GAN), the classifier reads F's mid-block
     output: conv 4×4/2 → GroupNorm(32) → SiLU → conv 4×4/4 → GroupNorm(32) → SiLU → conv 1×1 (the SD1.5 head, which
     fits this UNet's 8×8 bottleneck); generator term mean softplus(−D(fake)), classifier term
     mean softplus(D(sg fake)) + mean softplus(−D(real)). One draw of t_c and its noises serves both terms here
     (the reference draws them separately in its two turns; our trainer uses one forward pass for both phases).
  5. generator loss = dm + w_gen·gan_gen (gradient to the generator's LoRA); fake loss = denoising + w_disc·gan_disc
     (gradient to the fake score's LoRA and the head).
Both LoRAs are random (non-zero up matrices), the head's weights random too, so every path is exercised. Writes
dmd2-loss-parity.safetensors (inputs, weights, intermediates, gradients) and dmd2-loss-parity.json (draws, losses).
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tdd_loss_torch as shared  # noqa: E402  (imports compat before diffusers)
from safetensors_io import write_safetensors  # noqa: E402
import torch  # noqa: E402
from torch.nn.utils.stateless import functional_call  # noqa: E402

DMD2_COMMIT = "8d8fa55"  # tianweiy/DMD2, the commit read
SEED = 2727
B, C, H, W = 2, 4, 16, 16
TOKENS = 8
GEN_RANK, GEN_ALPHA = 2, 1.0
FAKE_RANK, FAKE_ALPHA = 2, 2.0
GEN_T, REAL_GUIDANCE = 399, 1.75
DM_MIN, DM_MAX = 20, 980
W_GEN, W_DISC = 0.3, 0.7  # not the defaults (1e-3, 1e-2): large enough that the GAN terms move the gradients


def random_lora(base, targets, rank, g, prefix):
    out = {}
    for key in targets:
        w = base[key]
        rest = list(w.shape[1:])
        out[f"{prefix}.{key}.down"] = torch.randn([rank] + rest, generator=g) * 0.3
        out[f"{prefix}.{key}.up"] = torch.randn([w.shape[0], rank] + [1] * (len(rest) - 1), generator=g) * 0.05
    return out


def merged(base, lora, prefix, rank, alpha):
    state = dict(base)
    for key, w in base.items():
        if f"{prefix}.{key}.down" in lora:
            d, u = lora[f"{prefix}.{key}.down"], lora[f"{prefix}.{key}.up"]
            state[key] = w + (alpha / rank) * (u.reshape(w.shape[0], rank) @ d.reshape(rank, -1)).reshape(w.shape)
    return state


class Head(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.down0 = torch.nn.Sequential(torch.nn.Conv2d(c, c, 4, 2, 1), torch.nn.GroupNorm(32, c), torch.nn.SiLU())
        self.last = torch.nn.Sequential(torch.nn.Conv2d(c, c, 4, 4, 0), torch.nn.GroupNorm(32, c), torch.nn.SiLU())
        self.out = torch.nn.Conv2d(c, 1, 1)

    def forward(self, x):
        return self.out(self.last(self.down0(x))).reshape(-1)


def mid_features(unet, state, sample, t, states):
    found = []
    handle = unet.mid_block.register_forward_hook(lambda _m, _i, out: found.append(out))
    try:
        functional_call(unet, state, (sample, t), {"encoder_hidden_states": states})
    finally:
        handle.remove()
    return found[0]


def main(fixtures, out_dir):
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(SEED)
    config, base, unet = shared.load_tiny_unet(fixtures)
    targets = shared.lora_targets(unet)
    gen_lora = random_lora(base, targets, GEN_RANK, g, "gen")
    fake_lora = random_lora(base, targets, FAKE_RANK, g, "fake")
    head = Head(config["block_out_channels"][-1])
    with torch.no_grad():
        for p in head.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * (0.2 if p.dim() > 1 else 0.5) + (1.0 if p.dim() == 1 else 0.0))

    z = torch.randn((B, C, H, W), generator=g)
    real = torch.randn((B, C, H, W), generator=g) * 0.8
    cond = torch.randn((B, TOKENS, 32), generator=g)
    uncond = torch.randn((1, TOKENS, 32), generator=g).expand(B, -1, -1)
    t_dm = torch.randint(DM_MIN, DM_MAX + 1, (B,), generator=g)
    n_dm = torch.randn((B, C, H, W), generator=g)
    t_f = torch.randint(0, 1000, (B,), generator=g)
    n_f = torch.randn((B, C, H, W), generator=g)
    t_c = torch.randint(0, 1000, (B,), generator=g)
    n_cf = torch.randn((B, C, H, W), generator=g)
    n_cr = torch.randn((B, C, H, W), generator=g)

    abar = shared.schedule()
    col = lambda t: abar[t].reshape(-1, 1, 1, 1)  # noqa: E731
    x0_of = lambda x, eps, a: (x - (1 - a).sqrt() * eps) / a.sqrt()  # noqa: E731
    noised = lambda x, n, a: a.sqrt() * x + (1 - a).sqrt() * n  # noqa: E731
    t_gen = torch.full((B,), GEN_T, dtype=torch.int64)

    gen_leaves = {k: v.clone().requires_grad_(True) for k, v in gen_lora.items()}
    fake_leaves = {k: v.clone().requires_grad_(True) for k, v in fake_lora.items()}
    gen_state = merged(base, gen_leaves, "gen", GEN_RANK, GEN_ALPHA)
    fake_state = merged(base, fake_leaves, "fake", FAKE_RANK, FAKE_ALPHA)

    eps_g = functional_call(unet, gen_state, (z, t_gen), {"encoder_hidden_states": cond}).sample
    x = x0_of(z, eps_g, col(t_gen))

    with torch.no_grad():
        a = col(t_dm)
        x_t = noised(x.detach(), n_dm, a)
        eps_c = unet(x_t, t_dm, encoder_hidden_states=cond).sample
        eps_u = unet(x_t, t_dm, encoder_hidden_states=uncond).sample
        x0_real = x0_of(x_t, eps_u + REAL_GUIDANCE * (eps_c - eps_u), a)
        eps_fake = functional_call(unet, fake_state, (x_t, t_dm), {"encoder_hidden_states": cond}).sample
        x0_fake = x0_of(x_t, eps_fake, a)
        p_real = x.detach() - x0_real
        p_fake = x.detach() - x0_fake
        grad_dm = (p_real - p_fake) / torch.abs(p_real).mean(dim=[1, 2, 3], keepdim=True)
    dm = 0.5 * torch.nn.functional.mse_loss(x, (x - grad_dm).detach())

    a_c = col(t_c)
    features = mid_features(unet, fake_state, torch.cat([noised(x, n_cf, a_c), noised(real, n_cr, a_c)]), torch.cat([t_c, t_c]),
                            torch.cat([cond, cond]))
    logit_fake, logit_real = head(features).split([B, B])
    gan_gen = torch.nn.functional.softplus(-logit_fake).mean()
    gan_disc = torch.nn.functional.softplus(logit_fake).mean() + torch.nn.functional.softplus(-logit_real).mean()

    x_f = noised(x.detach(), n_f, col(t_f))
    eps_hat = functional_call(unet, fake_state, (x_f, t_f), {"encoder_hidden_states": cond}).sample
    denoising = torch.nn.functional.mse_loss(eps_hat, n_f)

    generator_loss = dm + W_GEN * gan_gen
    fake_loss = denoising + W_DISC * gan_disc
    # What the surrogate is for: its gradient in x is g/(B·C·H·W).
    dm_grad_x = torch.autograd.grad(dm, x, retain_graph=True)[0]
    gen_grads = torch.autograd.grad(generator_loss, list(gen_leaves.values()), retain_graph=True)
    head_params = dict(head.named_parameters())
    fake_grads = torch.autograd.grad(fake_loss, list(fake_leaves.values()) + list(head_params.values()))

    picked = lambda prefix: [f"{prefix}.{m}.weight.{part}" for m in shared.GRAD_MODULES for part in ("down", "up")]  # noqa: E731
    gen_named = dict(zip(gen_leaves.keys(), gen_grads))
    fake_named = dict(zip(list(fake_leaves.keys()) + [f"head.{k}" for k in head_params], fake_grads))
    tensors = {
        "in.z": z, "in.real": real, "in.cond": cond, "in.uncond": uncond[:1].contiguous(),
        "in.dm_noise": n_dm, "in.fake_noise": n_f, "in.cls_noise_fake": n_cf, "in.cls_noise_real": n_cr,
        "out.x": x.detach(), "out.x0_real": x0_real, "out.x0_fake": x0_fake, "out.grad_dm": grad_dm,
        "out.logits": torch.cat([logit_fake, logit_real]).detach(), "out.dm_grad_x": dm_grad_x,
    }
    tensors.update({f"lora.{k}": v for k, v in {**gen_lora, **fake_lora}.items()})
    tensors.update({f"head.{k}": v.detach() for k, v in head_params.items()})
    tensors.update({f"grad.{k}": gen_named[k] for k in picked("gen")})
    tensors.update({f"grad.{k}": fake_named[k] for k in picked("fake")})
    tensors.update({f"grad.head.{k}": fake_named[f"head.{k}"] for k in head_params})
    os.makedirs(out_dir, exist_ok=True)
    write_safetensors(os.path.join(out_dir, "dmd2-loss-parity.safetensors"),
                      {k: v.detach().contiguous().float() for k, v in tensors.items()})
    index = {
        "reference": f"tianweiy/DMD2@{DMD2_COMMIT} main/sd_guidance.py, main/sd_unified_model.py (restated)",
        "versions": {"torch": torch.__version__, "diffusers": shared.diffusers.__version__},
        "settings": {"batch": B, "gen_rank": GEN_RANK, "gen_alpha": GEN_ALPHA, "fake_rank": FAKE_RANK, "fake_alpha": FAKE_ALPHA,
                     "generator_timestep": GEN_T, "real_guidance": REAL_GUIDANCE, "w_gen": W_GEN, "w_disc": W_DISC},
        "draws": {"t_dm": t_dm.tolist(), "t_fake": t_f.tolist(), "t_cls": t_c.tolist()},
        "losses": {"dm": dm.item(), "gan_gen": gan_gen.item(), "gan_disc": gan_disc.item(), "denoising": denoising.item(),
                   "generator": generator_loss.item(), "fake": fake_loss.item()},
        "grad_modules": shared.GRAD_MODULES,
        "head_params": list(head_params.keys()),
    }
    with open(os.path.join(out_dir, "dmd2-loss-parity.json"), "w") as f:
        json.dump(index, f, indent=2)
        f.write("\n")
    print(json.dumps(index["losses"], indent=2))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
