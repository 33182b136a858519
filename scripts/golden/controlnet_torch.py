"""Reference for test/models/controlnet.test.ts: diffusers ControlNetModel on tiny ControlNets made from the
fixtures' tiny UNets with `ControlNetModel.from_unet`.

Run from the repository root with Debian's torch and the diffusers source tree of the baselines (see
../shared/baselines/setup.sh and compat.py, which lets that diffusers import on torch 1.13):

  cd /work/shared/baselines && PYTHONPATH=/work/bench/src:/work/bench/stubs:/work/shared/baselines \
    DIFFUSERS_SRC=/work/bench/src BENCH_STUBS=/work/bench/stubs /usr/bin/python3 \
    /work/main/scripts/golden/controlnet_torch.py /work/shared/fixtures /work/main/test/golden

from_unet copies the UNet's conv_in, time/add embeddings, down and mid blocks, so those weights are the
fixture's own (the test reads them from the fixture). Only the ControlNet's own parameters (`controlnet_*`)
are written, after N(0, 0.05²) noise so that the zero-initialised output convs are not zero. Writes
controlnet-<name>.safetensors (those parameters, `controlnet.in.*` inputs, `controlnet.out.*` outputs) and
controlnet-<name>.json (config, every state-dict key with its shape, the zero-initialised keys, tensors index,
versions). Then the ControlNet text-to-image loop on tiny-sd with the tiny-sd ControlNet (see E2E):
controlnet-e2e-tiny-sd.{safetensors,json} (preprocessed control image, per-step latents, final latents,
decoded image) and its control image controlnet-e2e-control.png. The safetensors package is stubbed in that
environment, so files are read and written here.
"""
import json
import os
import struct
import sys

import compat  # noqa: F401  (must precede the diffusers import)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import write_safetensors  # noqa: E402  (our own writer: safetensors is stubbed there)
import diffusers
import numpy
import torch
from diffusers.models.controlnets.controlnet import ControlNetModel
from diffusers.models.unets.unet_2d_condition import UNet2DConditionModel

MODELS = {
    # SD-1.5 layout; 2 embedding widths = one ×2 downsampling, the tiny VAE's factor (64×64 image, 32×32 latents).
    "tiny-sd": dict(unet="tiny-sd", seed=800, embedding=(16, 32), scale=0.7, batch=2, latent=16, tokens=77,
                    timesteps=[999, 421], extra={}),
    # SDXL layout (text_time, linear projections, per-block depth), plus a BGR model with pooled residuals.
    "tiny-sdxl": dict(unet="tiny-sdxl", seed=810, embedding=(8, 16), scale=1.3, batch=1, latent=8, tokens=12,
                      timesteps=[250], extra=dict(controlnet_conditioning_channel_order="bgr", global_pool_conditions=True)),
}


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            continue  # only float tensors are needed here
        start, end = info["data_offsets"]
        out[name] = torch.from_numpy(numpy.frombuffer(data[start:end], dtype="<f4").copy()).reshape(info["shape"])
    return out


def build(fixtures, spec):
    torch.manual_seed(spec["seed"])  # the conditioning embedding's default init
    unet_dir = os.path.join(fixtures, spec["unet"], "unet")
    with open(os.path.join(unet_dir, "config.json")) as f:
        unet = UNet2DConditionModel.from_config(json.load(f)).eval()
    unet.load_state_dict(read_safetensors(os.path.join(unet_dir, "diffusion_pytorch_model.safetensors")), strict=True)
    base = ControlNetModel.from_unet(unet, conditioning_embedding_out_channels=spec["embedding"])
    # Without the private keys: `_use_default_values` would make from_config drop the overrides again.
    config = {k: v for k, v in base.config.items() if not k.startswith("_")}
    model = ControlNetModel.from_config({**config, **spec["extra"]}).eval()
    model.load_state_dict(base.state_dict(), strict=True)
    zeros = sorted(k for k, v in model.state_dict().items() if not v.any())
    noise = torch.Generator().manual_seed(spec["seed"] + 1)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if name.startswith("controlnet_"):
                p.add_(torch.randn(p.shape, generator=noise) * 0.05)
    return model, zeros


def run(name, spec, fixtures, out_dir):
    model, zeros = build(fixtures, spec)
    cfg = model.config
    g = torch.Generator().manual_seed(spec["seed"] + 2)
    b, h = spec["batch"], spec["latent"]
    factor = 2 ** (len(spec["embedding"]) - 1)
    inputs = {
        "controlnet.in.sample": (torch.randn((b, cfg.in_channels, h, h), generator=g), "noisy latents, randn"),
        "controlnet.in.timestep": (torch.tensor(spec["timesteps"], dtype=torch.float32), "timesteps [B] (float32 values of integers)"),
        "controlnet.in.encoder_hidden_states": (torch.randn((b, spec["tokens"], cfg.cross_attention_dim), generator=g), "randn"),
        "controlnet.in.controlnet_cond": (torch.rand((b, 3, h * factor, h * factor), generator=g), "control image in [0, 1], rand"),
    }
    added = None
    if cfg.addition_embed_type == "text_time":
        width = cfg.projection_class_embeddings_input_dim - 6 * cfg.addition_time_embed_dim
        inputs["controlnet.in.text_embeds"] = (torch.randn((b, width), generator=g), "pooled text embeddings, randn")
        inputs["controlnet.in.time_ids"] = (torch.tensor([[64.0, 48.0, 2.0, 3.0, 64.0, 48.0]] * b), "SDXL add_time_ids")
        added = {"text_embeds": inputs["controlnet.in.text_embeds"][0], "time_ids": inputs["controlnet.in.time_ids"][0]}
    with torch.no_grad():
        down, mid = model(inputs["controlnet.in.sample"][0], inputs["controlnet.in.timestep"][0],
                          encoder_hidden_states=inputs["controlnet.in.encoder_hidden_states"][0],
                          controlnet_cond=inputs["controlnet.in.controlnet_cond"][0], conditioning_scale=spec["scale"],
                          added_cond_kwargs=added, return_dict=False)
    outputs = {f"controlnet.out.down.{i}": (d, f"down_block_res_samples[{i}]") for i, d in enumerate(down)}
    outputs["controlnet.out.mid"] = (mid, "mid_block_res_sample")
    described = {**inputs, **outputs}
    state = model.state_dict()
    tensors = {k: v for k, v in state.items() if k.startswith("controlnet_")}
    tensors.update({k: v for k, (v, _) in described.items()})
    write_safetensors(os.path.join(out_dir, f"controlnet-{name}.safetensors"), tensors)
    index = {
        "description": f"diffusers ControlNetModel.from_unet(fixtures {spec['unet']} UNet, conditioning_embedding_out_channels="
                       f"{list(spec['embedding'])}) with config changes {spec['extra']}; `controlnet_*` parameters get N(0, 0.05²) noise "
                       f"from Generator({spec['seed'] + 1}) in sorted-name order, every other parameter is the fixture UNet's. Inputs "
                       f"from Generator({spec['seed'] + 2}). conditioning_scale {spec['scale']}, guess_mode off. float32, CPU.",
        "conditioning_scale": spec["scale"],
        "unet_fixture": spec["unet"],
        "config": {"_class_name": "ControlNetModel",
                   **{k: list(v) if isinstance(v, tuple) else v for k, v in cfg.items() if not k.startswith("_")}},
        "state_dict": {k: list(v.shape) for k, v in state.items()},
        "zero_initialised": zeros,
        "tensors": {k: {"dtype": "F32", "shape": list(v.shape), "description": d} for k, (v, d) in described.items()},
        "versions": {"diffusers": diffusers.__version__, "diffusers_commit": "58eb52c0803ea9af3abec60841c2a093bdf1f951",
                     "torch": torch.__version__, "numpy": numpy.__version__, "python": sys.version.split()[0]},
    }
    with open(os.path.join(out_dir, f"controlnet-{name}.json"), "w") as f:
        json.dump(index, f, indent=1)
        f.write("\n")


# End-to-end: the ControlNet text-to-image loop of StableDiffusionControlNetPipeline.__call__ (steps 4-8),
# re-implemented from the components as the fixtures' e2e runs are (the pipeline class needs transformers).
E2E = dict(model="tiny-sd", prompt_embeds="e2e-tiny-sd-ddim.safetensors", steps=4, guidance=5.0, seed=1,
           scale=0.8, guidance_start=0.0, guidance_end=0.75, size=64)


def control_png(path, size):
    """A hint image: white outlines (a rectangle and a circle) on black, like a canny map."""
    import PIL.Image
    import PIL.ImageDraw
    image = PIL.Image.new("RGB", (size, size))
    draw = PIL.ImageDraw.Draw(image)
    draw.rectangle([8, 10, 40, 50], outline=(255, 255, 255))
    draw.ellipse([30, 4, 60, 34], outline=(255, 255, 255))
    image.save(path)
    return PIL.Image.open(path)


def load_component(cls, fixtures, name):
    folder = os.path.join(fixtures, E2E["model"], name)
    with open(os.path.join(folder, "config.json")) as f:
        model = cls.from_config(json.load(f)).eval()
    model.load_state_dict(read_safetensors(os.path.join(folder, "diffusion_pytorch_model.safetensors")), strict=True)
    return model


def e2e(fixtures, out_dir):
    from diffusers import AutoencoderKL, DDIMScheduler
    from diffusers.image_processor import VaeImageProcessor

    controlnet, _ = build(fixtures, MODELS["tiny-sd"])
    unet = load_component(UNet2DConditionModel, fixtures, "unet")
    vae = load_component(AutoencoderKL, fixtures, "vae")
    with open(os.path.join(fixtures, E2E["model"], "scheduler", "scheduler_config.json")) as f:
        scheduler = DDIMScheduler.from_config(json.load(f))
    embeds = read_safetensors(os.path.join(fixtures, E2E["prompt_embeds"]))
    prompt_embeds = torch.cat([embeds["prompt_embeds.uncond"], embeds["prompt_embeds.cond"]])
    size, vae_factor = E2E["size"], 2 ** (len(vae.config.block_out_channels) - 1)
    png = control_png(os.path.join(out_dir, "controlnet-e2e-control.png"), size)
    processor = VaeImageProcessor(vae_scale_factor=vae_factor, do_convert_rgb=True, do_normalize=False)
    image = processor.preprocess(png, height=size, width=size).to(dtype=torch.float32)
    image_cfg = torch.cat([image] * 2)  # prepare_image: repeat over the batch (1), then double for CFG
    generator = torch.Generator().manual_seed(E2E["seed"])
    scheduler.set_timesteps(E2E["steps"])
    timesteps = scheduler.timesteps
    latents = torch.randn((1, unet.config.in_channels, size // vae_factor, size // vae_factor), generator=generator) * scheduler.init_noise_sigma
    n = len(timesteps)
    keep = [1.0 - float(i / n < E2E["guidance_start"] or (i + 1) / n > E2E["guidance_end"]) for i in range(n)]
    tensors = {"controlnet_cond": (image, "control_image_processor.preprocess(controlnet-e2e-control.png)")}
    with torch.no_grad():
        for i, t in enumerate(timesteps):
            tensors[f"step{i}.latents_in"] = (latents.clone(), f"latents before step {i}")
            x = scheduler.scale_model_input(torch.cat([latents] * 2), t)
            down, mid = controlnet(x, t, encoder_hidden_states=prompt_embeds, controlnet_cond=image_cfg,
                                   conditioning_scale=E2E["scale"] * keep[i], guess_mode=False, return_dict=False)
            eps = unet(x, t, encoder_hidden_states=prompt_embeds, down_block_additional_residuals=down,
                       mid_block_additional_residual=mid).sample
            eps_u, eps_c = eps.chunk(2)
            eps = eps_u + E2E["guidance"] * (eps_c - eps_u)
            latents = scheduler.step(eps, t, latents, eta=0.0, generator=generator).prev_sample
        decoded = vae.decode(latents / vae.config.scaling_factor).sample
    tensors["final_latents"] = (latents, "latents after the last step")
    tensors["image.decoded"] = (decoded, "vae.decode(final_latents / scaling_factor).sample")
    write_safetensors(os.path.join(out_dir, "controlnet-e2e-tiny-sd.safetensors"), {k: v for k, (v, _) in tensors.items()})
    index = {
        "description": "StableDiffusionControlNetPipeline's loop (guess mode off) re-implemented from the components: tiny-sd UNet/VAE, "
                       "the controlnet-tiny-sd ControlNet, DDIMScheduler from tiny-sd's scheduler_config, prompt embeddings "
                       f"(uncond, cond) from the fixtures' {E2E['prompt_embeds']}, control image controlnet-e2e-control.png.",
        **E2E,
        "timesteps": [int(t) for t in timesteps],
        "controlnet_keep": keep,
        "tensors": {k: {"dtype": "F32", "shape": list(v.shape), "description": d} for k, (v, d) in tensors.items()},
        "versions": {"diffusers": diffusers.__version__, "diffusers_commit": "58eb52c0803ea9af3abec60841c2a093bdf1f951",
                     "torch": torch.__version__, "numpy": numpy.__version__, "python": sys.version.split()[0]},
    }
    with open(os.path.join(out_dir, "controlnet-e2e-tiny-sd.json"), "w") as f:
        json.dump(index, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    torch.set_num_threads(1)
    for model_name, model_spec in MODELS.items():
        run(model_name, model_spec, sys.argv[1], sys.argv[2])
    e2e(sys.argv[1], sys.argv[2])
