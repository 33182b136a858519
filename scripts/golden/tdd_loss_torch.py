"""Reference for test/distill/loss-parity.test.ts: one TDD (and one LCM, one PCM) distillation batch end to end, the
loss as RedAIGC/Target-Driven-Distillation train/SD15/train_tdd.py computes it (LCM: diffusers'
train_lcm_distill_lora_sd_wds.py; PCM: G-U-N/Phased-Consistency-Model code/text_to_image_sd15/train_pcm_lora_sd15.py),
restated here in plain torch around diffusers' UNet2DConditionModel.

Run from the repository root with Debian's torch (apt-get install python3-torch) and the diffusers source tree
of the baselines (../shared/baselines/setup.sh makes $BENCH_WORK/src and $BENCH_WORK/stubs; only its first part,
before OpenBLAS, is needed):

  PYTHONPATH=$BENCH_WORK/src:$BENCH_WORK/stubs:/work/shared/baselines DIFFUSERS_SRC=$BENCH_WORK/src \
    BENCH_STUBS=$BENCH_WORK/stubs /usr/bin/python3 scripts/golden/tdd_loss_torch.py ../shared/fixtures test/golden

What one batch does (both methods share everything up to the mapping of the outputs):
  1. latents x0, noise ε, a DDIM-grid index i per sample (N = 250 grid points, spacing k = 4): the source timestep
     t = grid[i], the target timestep t' = max(t − k, 0); x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε.
  2. captions: a sample whose drop draw is < the empty-prompt proportion gets the empty prompt as its condition.
  3. w per sample, U[w_min, w_max); the teacher's guided ε and x0 in the LCM formulation f_c + w·(f_c − f_u);
     one DDIM step to t' gives x_prev.
  4. the student (teacher + LoRA) at (x_t, t), the target model (the same LoRA, no gradient) at (x_prev, t').
  5. TDD: a target timestep s per sample (merged 4..8-step schedules, window of 260 below the largest merged
     timestep ≤ t', a uniform pick, then s = ⌊(1 − u·s_ratio)·c⌋); both outputs moved to s with
     √ᾱ_s·x0 + √(1−ᾱ_s)·ε (no c_skip/c_out: the reference defines them but never applies them).
     LCM: both mapped with the boundary scalings c_skip/c_out (σ_data 0.5, timestep scaling 10).
     PCM: phases start at floor(linspace(0, N, M, endpoint=False)) on the grid; both outputs DDIM-moved from their
     x0 and ε to the end of the sample's phase (ᾱ of the phase start's grid predecessor, ᾱ[0] for the first); the
     student with c_skip 0 / c_out 1, the target with c_skip 1 (x_prev kept) where the grid index is a phase start.
     simpleCTM (no public code; our definition, see src/distill/method.ts): both moved to s drawn uniformly among 0
     and the grid timesteps below t'.
  6. pseudo-Huber mean(√(d² + c²) − c).
Every random choice is drawn here (torch.Generator, seed below) and stored, so the TypeScript side replays them
through its own step code instead of needing the same generator order. The LoRA is random (non-zero up
matrices), so student ≠ teacher. Writes tdd-loss-parity.safetensors (inputs, LoRA, intermediates) and
tdd-loss-parity.json (index, draws, losses, versions).
"""
import json
import os
import struct
import sys

import compat  # noqa: F401  (must precede the diffusers import)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import write_safetensors  # noqa: E402
import diffusers  # noqa: E402
import numpy  # noqa: E402
import torch  # noqa: E402
from diffusers.models.unets.unet_2d_condition import UNet2DConditionModel  # noqa: E402



def read_safetensors(path):
    """F32 tensors of a safetensors file (our own reader: the safetensors package is stubbed there)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] != "F32":
            continue
        start, end = info["data_offsets"]
        out[name] = torch.from_numpy(numpy.frombuffer(data[start:end], dtype="<f4").copy()).reshape(info["shape"])
    return out

SEED = 2626
B, C, H, W = 4, 4, 16, 16
TOKENS = 8
RANK, ALPHA = 2, 1.0
N_DDIM, K_MIN, K_MAX, S_RATIO = 250, 4, 8, 0.3
W_MIN, W_MAX = 2.0, 6.0
EMPTY = 0.2
# PCM phase counts: 4 (the reference's launch script), and 25, whose phase starts (multiples of 10) include the
# grid index 140, so the "target keeps x_prev" branch acts on a sample with t' > 0.
PCM_PHASES = [4, 25]
HUBER_C = 0.001
WINDOW = 260
# LoRA target module names of both reference scripts (peft: module path equals a name or ends with "." + name).
MODULES = ["to_q", "to_k", "to_v", "to_out.0", "proj_in", "proj_out", "ff.net.0.proj", "ff.net.2", "conv1", "conv2",
           "conv_shortcut", "downsamplers.0.conv", "upsamplers.0.conv", "time_emb_proj"]
# Grid indices: the first (t' clamps to 0), the last (t = 999), two in between; drops: sample 1 loses its caption.
INDICES = [0, 57, 140, 249]
PCM_COMMIT = "b127277"  # G-U-N/Phased-Consistency-Model, the commit read
DROPS = [0.71, 0.05, 0.93, 0.38]


def schedule():
    betas = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=torch.float32) ** 2
    return torch.cumprod(1.0 - betas, dim=0)


def grid(abar):
    k = 1000 // N_DDIM
    ts = (numpy.arange(1, N_DDIM + 1) * k).round().astype(numpy.int64) - 1
    prev = torch.cat([abar[:1], abar[torch.from_numpy(ts[:-1])]])
    return k, ts, prev


def merged_schedule(ts):
    visited = set()
    descending = ts[::-1]
    for n in range(K_MIN, K_MAX + 1):
        for j in numpy.floor(numpy.linspace(0, len(descending), num=n, endpoint=False)).astype(numpy.int64):
            visited.add(int(descending[j]))
    return ([0] + sorted(visited))[:-1]


def window(merged, t):
    ub = max(m for m in merged if m <= t)
    lb = max(ub - WINDOW, 0)
    return [m for m in merged if lb <= m <= ub]


def lora_targets(unet):
    keys = []
    for key, v in unet.state_dict().items():
        module = key[: -len(".weight")] if key.endswith(".weight") else None
        if module is None or v.dim() < 2:
            continue
        if any(module == m or module.endswith("." + m) for m in MODULES):
            keys.append(key)
    return sorted(keys)


def load_tiny_unet(fixtures):
    """The fixtures' tiny-sd UNet: its config, its weights by name, and the model holding them."""
    unet_dir = os.path.join(fixtures, "tiny-sd", "unet")
    with open(os.path.join(unet_dir, "config.json")) as f:
        config = json.load(f)
    base = read_safetensors(os.path.join(unet_dir, "diffusion_pytorch_model.safetensors"))
    unet = UNet2DConditionModel.from_config(config).eval()
    unet.load_state_dict(base, strict=True)
    return config, base, unet


def main(fixtures, out_dir):
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(SEED)
    config, base, teacher = load_tiny_unet(fixtures)

    # Random LoRA, rank 4, alpha 2: W' = W + (alpha/rank)·reshape(up·down).
    targets = lora_targets(teacher)
    lora, merged_state = {}, dict(base)
    for key in targets:
        w = base[key]
        rest = list(w.shape[1:])
        down = torch.randn([RANK] + rest, generator=g) * 0.3
        up = torch.randn([w.shape[0], RANK] + [1] * (len(rest) - 1), generator=g) * 0.05
        lora[f"lora.{key}.down"], lora[f"lora.{key}.up"] = down, up
        delta = up.reshape(w.shape[0], RANK) @ down.reshape(RANK, -1)
        merged_state[key] = w + (ALPHA / RANK) * delta.reshape(w.shape)
    student = UNet2DConditionModel.from_config(config).eval()
    student.load_state_dict(merged_state, strict=True)

    x0 = torch.randn((B, C, H, W), generator=g) * 0.8
    noise = torch.randn((B, C, H, W), generator=g)
    caption_states = torch.randn((B, TOKENS, 32), generator=g)
    empty_states = torch.randn((1, TOKENS, 32), generator=g)
    w_u = torch.rand((B,), generator=g)
    abar = schedule()
    k, ts, abar_prev = grid(abar)
    merged = merged_schedule(ts)
    index = torch.tensor(INDICES, dtype=torch.int64)
    t_src = torch.from_numpy(ts)[index]
    t_tgt = torch.clamp(t_src - k, min=0)
    windows = [window(merged, int(t)) for t in t_tgt]
    picks = [int(torch.randint(0, len(c), (1,), generator=g)) for c in windows]
    u = torch.rand((B,), generator=g)
    chosen = torch.tensor([c[p] for c, p in zip(windows, picks)], dtype=torch.int64)
    s = torch.floor((1 - u * S_RATIO) * chosen).to(torch.int64)
    # simpleCTM (drawn last, so every earlier draw is as before): s uniform among 0 and the grid timesteps below
    # t', i.e. the grid's predecessor list up to index i.
    ts_prev = numpy.concatenate([[0], ts[:-1]])
    ctm_picks = [int(torch.randint(0, int(i) + 1, (1,), generator=g)) for i in INDICES]
    s_ctm = torch.tensor([int(ts_prev[p]) for p in ctm_picks], dtype=torch.int64)
    # PCM's adversarial loss at 4 phases (drawn after everything above): the discriminator's timestep per sample,
    # uniform in [end, end + 1000/M) above the phase end, the two re-noising draws, and random heads.
    pcm_start4 = [int(max(st for st in numpy.floor(numpy.linspace(0, N_DDIM, num=4, endpoint=False)).astype(numpy.int64) if st <= i)) for i in INDICES]
    adv_end = torch.tensor([int(ts_prev[st]) for st in pcm_start4], dtype=torch.int64)
    adv_t = torch.stack([torch.randint(int(e), int(e) + 1000 // 4, (1,), generator=g)[0] for e in adv_end])
    adv_noise_fake = torch.randn((B, C, H, W), generator=g)
    adv_noise_real = torch.randn((B, C, H, W), generator=g)
    heads = make_heads(teacher, g)

    dropped = torch.tensor(DROPS) < EMPTY
    cond = torch.where(dropped[:, None, None], empty_states.expand(B, -1, -1), caption_states)
    uncond = empty_states.expand(B, -1, -1)
    w = ((W_MAX - W_MIN) * w_u + W_MIN).reshape(B, 1, 1, 1)

    col = lambda v: v.reshape(B, 1, 1, 1)  # noqa: E731
    a_src, a_tgt, a_s = col(abar[t_src]), col(abar[t_tgt]), col(abar[s])
    x0_of = lambda x, eps, a: (x - (1 - a).sqrt() * eps) / a.sqrt()  # noqa: E731
    to_s = lambda x0_, eps: a_s.sqrt() * x0_ + (1 - a_s).sqrt() * eps  # noqa: E731

    def boundary(t):
        scaled = t.to(torch.float32) * 10.0
        c_skip = 0.25 / (scaled ** 2 + 0.25)
        c_out = scaled / (scaled ** 2 + 0.25) ** 0.5
        return col(c_skip), col(c_out)

    with torch.no_grad():
        noisy = a_src.sqrt() * x0 + (1 - a_src).sqrt() * noise
        eps_student = student(noisy, t_src, encoder_hidden_states=cond).sample
        eps_c = teacher(noisy, t_src, encoder_hidden_states=cond).sample
        eps_u = teacher(noisy, t_src, encoder_hidden_states=uncond).sample
        x0_c, x0_u = x0_of(noisy, eps_c, a_src), x0_of(noisy, eps_u, a_src)
        guided_x0 = x0_c + w * (x0_c - x0_u)
        guided_eps = eps_c + w * (eps_c - eps_u)
        a_prev = col(abar_prev[index])
        x_prev = a_prev.sqrt() * guided_x0 + (1 - a_prev).sqrt() * guided_eps
        eps_target = student(x_prev, t_tgt, encoder_hidden_states=cond).sample
        x0_student, x0_target = x0_of(noisy, eps_student, a_src), x0_of(x_prev, eps_target, a_tgt)

        huber = lambda a, b: torch.mean(torch.sqrt((a - b) ** 2 + HUBER_C ** 2) - HUBER_C)  # noqa: E731
        l2 = lambda a, b: torch.mean((a - b) ** 2)  # noqa: E731
        tdd_pred, tdd_target = to_s(x0_student, eps_student), to_s(x0_target, eps_target)
        (cs_src, co_src), (cs_tgt, co_tgt) = boundary(t_src), boundary(t_tgt)
        lcm_pred, lcm_target = cs_src * noisy + co_src * x0_student, cs_tgt * x_prev + co_tgt * x0_target
        ctm_pred, ctm_target = to_s_at(abar, s_ctm, x0_student, eps_student), to_s_at(abar, s_ctm, x0_target, eps_target)
        pcm = {m: pcm_outputs(m, index, abar_prev, x_prev, x0_student, eps_student, x0_target, eps_target) for m in PCM_PHASES}
        pcm_pred, pcm_target = pcm[PCM_PHASES[0]]["pred"], pcm[PCM_PHASES[0]]["target"]
        # Sensitivity: how far the TDD loss moves when one piece is done differently.
        variants = {
            "no_gamma_offset": (to_s_at(abar, chosen, x0_student, eps_student), to_s_at(abar, chosen, x0_target, eps_target)),
            "with_boundary_scalings": (cs_src * noisy + co_src * tdd_pred, cs_tgt * x_prev + co_tgt * tdd_target),
        }
        eps_c_nodrop = teacher(noisy, t_src, encoder_hidden_states=caption_states).sample
        guided_eps_nd = eps_c_nodrop + w * (eps_c_nodrop - eps_u)
        x0_c_nd = x0_of(noisy, eps_c_nodrop, a_src)
        x_prev_nd = a_prev.sqrt() * (x0_c_nd + w * (x0_c_nd - x0_u)) + (1 - a_prev).sqrt() * guided_eps_nd
        eps_student_nd = student(noisy, t_src, encoder_hidden_states=caption_states).sample
        eps_target_nd = student(x_prev_nd, t_tgt, encoder_hidden_states=caption_states).sample
        variants["no_empty_prompt"] = (to_s(x0_of(noisy, eps_student_nd, a_src), eps_student_nd), to_s(x0_of(x_prev_nd, eps_target_nd, a_tgt), eps_target_nd))

    with torch.no_grad():
        ratio = col(abar[adv_t] / abar[adv_end])
        fake_adv = ratio.sqrt() * pcm[4]["pred"] + (1 - ratio).sqrt() * adv_noise_fake
        real_adv = ratio.sqrt() * pcm[4]["target"] + (1 - ratio).sqrt() * adv_noise_real
        out_fake = head_outputs(teacher, heads, fake_adv, adv_t, cond)
        out_real = head_outputs(teacher, heads, real_adv, adv_t, cond)
        count = len(out_fake)
        d_loss = sum(torch.mean(torch.relu(f + 1)) + torch.mean(torch.relu(1 - r)) for f, r in zip(out_fake, out_real)) / count
        g_loss = sum(torch.mean(torch.relu(1 - f)) for f in out_fake) / count

    grads, grad_norm = lora_gradients(student, merged_state, base, lora, noisy, t_src, cond, x_prev, t_tgt, a_src, a_tgt, a_s)
    unstopped, _ = lora_gradients(student, merged_state, base, lora, noisy, t_src, cond, x_prev, t_tgt, a_src, a_tgt, a_s, False)
    unstopped_change = max(((unstopped[k2] - grads[k2]).abs().max() / grads[k2].abs().max()).item() for k2 in grads)
    losses = {
        "tdd_huber": huber(tdd_pred, tdd_target).item(), "tdd_l2": l2(tdd_pred, tdd_target).item(),
        "lcm_huber": huber(lcm_pred, lcm_target).item(), "lcm_l2": l2(lcm_pred, lcm_target).item(),
        "pcm_huber": huber(pcm_pred, pcm_target).item(), "pcm_l2": l2(pcm_pred, pcm_target).item(),
        "pcm25_huber": huber(pcm[25]["pred"], pcm[25]["target"]).item(),
        "simplectm_huber": huber(ctm_pred, ctm_target).item(),
        "pcm_adv_discriminator": d_loss.item(), "pcm_adv_generator": g_loss.item(),
    }
    sensitivity = {name: huber(p, t).item() for name, (p, t) in variants.items()}
    sensitivity_pcm25 = {"target_always_moved": huber(pcm[25]["pred"], pcm[25]["moved_target"]).item()}
    # float64 recomputation of the final reduction, for the rounding floor of the comparison.
    losses64 = {"tdd_huber": torch.mean(torch.sqrt((tdd_pred.double() - tdd_target.double()) ** 2 + HUBER_C ** 2) - HUBER_C).item()}

    described = {
        "in.x0": (x0, "clean latents [B,4,16,16]"),
        "in.noise": (noise, "ε [B,4,16,16]"),
        "in.caption_states": (caption_states, "text states of each sample's caption [B,8,32]"),
        "in.empty_states": (empty_states, "text states of the empty prompt [1,8,32]"),
        "out.noisy": (noisy, "x_t"),
        "out.x_prev": (x_prev, "teacher's guided DDIM step to t'"),
        "out.tdd_pred": (tdd_pred, "student mapped to s"),
        "out.tdd_target": (tdd_target, "target model mapped to s"),
        "out.lcm_pred": (lcm_pred, "student with c_skip/c_out at t"),
        "out.lcm_target": (lcm_target, "target with c_skip/c_out at t'"),
        "out.pcm_pred": (pcm_pred, "student moved to its phase's end"),
        "out.pcm_target": (pcm_target, "target moved to the phase's end (x_prev where the index starts a phase)"),
    }
    tensors = {k2: v for k2, (v, _) in described.items()}
    tensors.update(lora)
    tensors.update({f"discriminator.heads.{k2}": v for k2, v in heads.state_dict().items()})
    tensors.update({"in.adv_noise_fake": adv_noise_fake, "in.adv_noise_real": adv_noise_real})
    tensors.update({f"grad.{k2}": v for k2, v in grads.items()})
    write_safetensors(os.path.join(out_dir, "tdd-loss-parity.safetensors"), tensors)
    index_json = {
        "description": "One TDD/LCM distillation batch on the fixtures' tiny-sd UNet (teacher) with a random rank-4 LoRA "
                       "(student and target), the reference training scripts' loss restated in torch; see "
                       "scripts/golden/tdd_loss_torch.py. All random choices are stored so the other side can replay them.",
        "seed": SEED, "batch": B, "latent_shape": [C, H, W], "tokens": TOKENS, "rank": RANK, "alpha": ALPHA,
        "num_ddim_timesteps": N_DDIM, "k_min": K_MIN, "k_max": K_MAX, "s_ratio": S_RATIO, "w_min": W_MIN, "w_max": W_MAX,
        "proportion_empty_prompts": EMPTY, "huber_c": HUBER_C, "lora_targets": targets,
        "pcm": {str(m): {"phase_starts": pcm[m]["starts"], "sample_phase_start": pcm[m]["sample_start"]} for m in PCM_PHASES},
        "pcm_reference_commit": PCM_COMMIT,
        "pcm_adversarial": {"phases": 4, "end": adv_end.tolist(), "timestep": adv_t.tolist(), "heads": count,
                            "description": "discriminator_sd15.py's heads (4 per down/mid/up block feature of the teacher UNet, "
                                           "GroupNorm(32), LeakyReLU 0.01) and hinge losses, on the 4-phase PCM outputs "
                                           "re-noised from the phase end to the discriminator timestep (noise_travel)"}, "sensitivity_pcm25_huber": sensitivity_pcm25,
        "draws": {
            "drop_u": DROPS, "dropped": dropped.tolist(), "index": INDICES, "w_u": w_u.tolist(), "w": w.flatten().tolist(),
            "window_sizes": [len(c) for c in windows], "picks": picks, "offset_u": u.tolist(), "simplectm_picks": ctm_picks,
        },
        "timesteps": {"source": t_src.tolist(), "target": t_tgt.tolist(), "chosen": chosen.tolist(), "s": s.tolist(),
                      "simplectm_s": s_ctm.tolist()},
        "merged_timesteps": merged,
        "losses": losses, "losses_float64_reduction": losses64,
        "tdd_huber_grad": {"keys": sorted(grads), "global_norm": grad_norm,
                           "max_relative_change_without_stop_gradient": unstopped_change,
                           "description": "d(TDD pseudo-Huber loss)/d(LoRA down/up) with the target under no_grad, as the reference"}, "sensitivity_tdd_huber": sensitivity,
        "tensors": {k2: {"dtype": "F32", "shape": list(v.shape), "description": d} for k2, (v, d) in described.items()},
        "versions": {"diffusers": diffusers.__version__, "diffusers_commit": "58eb52c0803ea9af3abec60841c2a093bdf1f951",
                     "tdd_reference_commit": "89cc1e8e685009a04a90fad0839ca7dffc3b333c",
                     "torch": torch.__version__, "numpy": numpy.__version__, "python": sys.version.split()[0]},
    }
    with open(os.path.join(out_dir, "tdd-loss-parity.json"), "w") as f:
        json.dump(index_json, f, indent=1)
        f.write("\n")
    print(json.dumps({"losses": losses, "sensitivity": sensitivity, "sensitivity_pcm25": sensitivity_pcm25, "s": s.tolist(), "windows": [len(c) for c in windows]}))


GRAD_MODULES = ["down_blocks.0.resnets.0.conv1", "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q",
                "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k", "mid_block.resnets.0.time_emb_proj",
                "up_blocks.0.attentions.0.proj_in", "up_blocks.0.attentions.1.transformer_blocks.0.ff.net.2",
                "up_blocks.0.upsamplers.0.conv", "up_blocks.1.resnets.0.conv_shortcut"]


def lora_gradients(student, merged_state, base, lora, noisy, t_src, cond, x_prev, t_tgt, a_src, a_tgt, a_s, stop_target=True):
    """Gradients of the TDD pseudo-Huber loss w.r.t. the LoRA matrices: the student with live LoRA leaves, the
    target from the same weights detached (the reference computes it under torch.no_grad); with
    stop_target=False the target is differentiated too (only to show the test would notice)."""
    from torch.nn.utils.stateless import functional_call
    leaves = {k2: v.clone().requires_grad_(True) for k2, v in lora.items()}
    state = dict(merged_state)
    for name, w in base.items():
        if f"lora.{name}.down" in leaves:
            d, u = leaves[f"lora.{name}.down"], leaves[f"lora.{name}.up"]
            state[name] = w + (ALPHA / RANK) * (u.reshape(w.shape[0], RANK) @ d.reshape(RANK, -1)).reshape(w.shape)
    eps_student = functional_call(student, state, (noisy, t_src), {"encoder_hidden_states": cond}).sample
    if stop_target:
        with torch.no_grad():
            eps_target = student(x_prev, t_tgt, encoder_hidden_states=cond).sample  # student holds the merged weights
    else:
        eps_target = functional_call(student, state, (x_prev, t_tgt), {"encoder_hidden_states": cond}).sample
    x0s = (noisy - (1 - a_src).sqrt() * eps_student) / a_src.sqrt()
    x0t = (x_prev - (1 - a_tgt).sqrt() * eps_target) / a_tgt.sqrt()
    pred = a_s.sqrt() * x0s + (1 - a_s).sqrt() * eps_student
    target = a_s.sqrt() * x0t + (1 - a_s).sqrt() * eps_target
    loss = torch.mean(torch.sqrt((pred - target) ** 2 + HUBER_C ** 2) - HUBER_C)
    loss.backward()
    norm = torch.sqrt(sum((v.grad.double() ** 2).sum() for v in leaves.values())).item()
    picked = {k2: v.grad for k2, v in leaves.items() if any(k2 in (f"lora.{m}.weight.down", f"lora.{m}.weight.up") for m in GRAD_MODULES)}
    assert len(picked) == 2 * len(GRAD_MODULES), sorted(picked)
    return picked, norm


def pcm_outputs(phases, index, abar_prev, x_prev, x0_student, eps_student, x0_target, eps_target):
    """PCM's prediction and target for `phases` sub-trajectories (and the target as if no sample sat on a phase start)."""
    starts = numpy.floor(numpy.linspace(0, N_DDIM, num=phases, endpoint=False)).astype(numpy.int64)
    sample_start = torch.tensor([int(starts[starts <= int(i)].max()) for i in index], dtype=torch.int64)
    a_end = abar_prev[sample_start].reshape(-1, 1, 1, 1)
    on_start = torch.isin(index, torch.from_numpy(starts)).float().reshape(-1, 1, 1, 1)
    move = lambda x0_, eps: a_end.sqrt() * x0_ + (1 - a_end).sqrt() * eps  # noqa: E731
    moved_target = move(x0_target, eps_target)
    return {"pred": move(x0_student, eps_student), "target": on_start * x_prev + (1 - on_start) * moved_target,
            "moved_target": moved_target, "starts": starts.tolist(), "sample_start": sample_start.tolist()}


class Head(torch.nn.Module):
    """One discriminator head as PCM's DiscriminatorHead: two conv-GroupNorm-LeakyReLU blocks (residual), conv 1x1."""
    def __init__(self, c):
        super().__init__()
        block = lambda: torch.nn.Sequential(torch.nn.Conv2d(c, c, 3, 1, 1), torch.nn.GroupNorm(32, c), torch.nn.LeakyReLU())  # noqa: E731
        self.conv1, self.conv2 = block(), block()
        self.conv_out = torch.nn.Conv2d(c, 1, 1, 1, 0)

    def forward(self, x):
        x = self.conv1(x)
        return self.conv_out(self.conv2(x) + x)


def unet_features(unet, sample, t, states):
    """The outputs of every down block, the mid block and every up block (PCM's modified_forward), via hooks."""
    found = []
    hook = lambda _m, _i, out: found.append(out[0] if isinstance(out, tuple) else out)  # noqa: E731
    handles = [b.register_forward_hook(hook) for b in [*unet.down_blocks, unet.mid_block, *unet.up_blocks]]
    try:
        unet(sample, t, encoder_hidden_states=states)
    finally:
        for h in handles:
            h.remove()
    return found


def make_heads(unet, g):
    probe = unet_features(unet, torch.zeros((1, C, H, W)), torch.tensor([1]), torch.zeros((1, TOKENS, 32)))
    heads = torch.nn.ModuleList([torch.nn.ModuleList([Head(f.shape[1]) for _ in range(4)]) for f in probe])
    with torch.no_grad():
        for name, p in heads.named_parameters():
            # Random, not torch's init: GroupNorm's affine too, so every parameter is exercised.
            p.copy_(torch.randn(p.shape, generator=g) * (0.2 if p.dim() > 1 else 0.5) + (1.0 if name.endswith("1.weight") and p.dim() == 1 else 0.0))
    return heads


def head_outputs(unet, heads, sample, t, states):
    return [h(f) for f, per in zip(unet_features(unet, sample, t, states), heads) for h in per]


def to_s_at(abar, timesteps, x0_, eps):
    a = abar[timesteps].reshape(-1, 1, 1, 1)
    return a.sqrt() * x0_ + (1 - a).sqrt() * eps


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
