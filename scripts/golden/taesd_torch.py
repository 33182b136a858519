"""Reference for test/models/taesd.test.ts: diffusers AutoencoderTiny encode/decode on small seeded models.

Run from the repository root with Debian's torch and the diffusers source tree of the baselines (see
../shared/baselines/setup.sh and compat.py, which lets that diffusers import on torch 1.13):

  cd /work/shared/baselines && PYTHONPATH=/work/bench/src:/work/bench/stubs:/work/shared/baselines \
    DIFFUSERS_SRC=/work/bench/src BENCH_STUBS=/work/bench/stubs /usr/bin/python3 \
    /work/main/scripts/golden/taesd_torch.py /work/main/test/golden

Writes taesd-<name>.safetensors (the model's weights under their diffusers keys, plus `taesd.in.*` inputs and
`taesd.*` outputs) and taesd-<name>.json (config, tensors index, versions) for each model below. The
safetensors package is stubbed in that environment, so the file is written here (tensors sorted by name,
header padded with spaces to a multiple of 8, as the fixtures' writer).
"""
import json
import os
import sys

import compat  # noqa: F401  (must precede the diffusers import)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import write_safetensors  # noqa: E402  (our own writer: safetensors is stubbed there)
import diffusers
import numpy
import torch
from diffusers.models.autoencoders.autoencoder_tiny import AutoencoderTiny

MODELS = {
    # TAESD's own layout (ReLU, ×2 upsampling), narrowed to 8 channels and 3 stages.
    "tiny": dict(
        config=dict(encoder_block_out_channels=(8, 8, 8), decoder_block_out_channels=(8, 8, 8),
                    num_encoder_blocks=(1, 2, 1), num_decoder_blocks=(2, 1, 1), act_fn="relu"),
        seed=700, image=(2, 3, 32, 32),
    ),
    # Less common paths: SiLU blocks (the fuse stays ReLU), a stage without blocks, ×3 upsampling,
    # non-default latent magnitude/shift/scaling.
    "tiny-silu": dict(
        config=dict(encoder_block_out_channels=(12, 12, 12), decoder_block_out_channels=(12, 12, 12),
                    num_encoder_blocks=(2, 1, 0), num_decoder_blocks=(1, 0, 2), act_fn="silu",
                    upsampling_scaling_factor=3, latent_magnitude=2.5, latent_shift=0.4, scaling_factor=0.5,
                    shift_factor=0.1),
        seed=710, image=(1, 3, 20, 20),
    ),
}


def build(config, seed):
    """The fixtures' recipe: default init under manual_seed(seed), then N(0, 0.05²) noise per parameter."""
    torch.manual_seed(seed)
    model = AutoencoderTiny(**config).eval()
    noise = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for _, p in sorted(model.named_parameters()):
            p.add_(torch.randn(p.shape, generator=noise) * 0.05)
    return model


def run(name, spec, out_dir):
    model = build(spec["config"], spec["seed"])
    inputs = torch.Generator().manual_seed(spec["seed"] + 2)
    image = torch.rand(spec["image"], generator=inputs) * 2 - 1
    with torch.no_grad():
        latents = model.encode(image).latents
        # Decode input: the encoder output's shape, drawn wider than (-3, 3) so the tanh clamp matters.
        decode_in = torch.randn(latents.shape, generator=inputs) * 2.5
        sample = model.decode(decode_in).sample
        unit = model.scale_latents(decode_in)
        from_unit = model.unscale_latents(unit)
    tensors = dict(model.state_dict())
    described = {
        "taesd.in.image": (image, "encode input, rand·2−1 in [-1, 1]"),
        "taesd.encode.latents": (latents, "encode(image).latents"),
        "taesd.in.latents": (decode_in, "decode input, randn·2.5"),
        "taesd.latents_unit": (unit, "scale_latents(taesd.in.latents): x/(2·latent_magnitude) + latent_shift, clamped to [0, 1]"),
        "taesd.latents_from_unit": (from_unit, "unscale_latents(taesd.latents_unit): (u − latent_shift)·2·latent_magnitude"),
        "taesd.decode.sample": (sample, "decode(latents).sample"),
    }
    tensors.update({k: v for k, (v, _) in described.items()})
    write_safetensors(os.path.join(out_dir, f"taesd-{name}.safetensors"), tensors)
    index = {
        "description": f"diffusers AutoencoderTiny '{name}': seeded weights (manual_seed {spec['seed']}, default init, "
                       f"then N(0, 0.05²) noise from Generator({spec['seed'] + 1}) per parameter in sorted-name order); "
                       f"inputs from Generator({spec['seed'] + 2}): image first, then the decode latents. float32, CPU.",
        "config": {"_class_name": "AutoencoderTiny",
                   **{k: list(v) if isinstance(v, tuple) else v for k, v in model.config.items() if not k.startswith("_")}},
        "tensors": {k: {"dtype": "F32", "shape": list(v.shape), "description": d} for k, (v, d) in described.items()},
        "weights": len(model.state_dict()),
        "versions": {"diffusers": diffusers.__version__, "diffusers_commit": "58eb52c0803ea9af3abec60841c2a093bdf1f951",
                     "torch": torch.__version__, "numpy": numpy.__version__, "python": sys.version.split()[0]},
    }
    with open(os.path.join(out_dir, f"taesd-{name}.json"), "w") as f:
        json.dump(index, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    torch.set_num_threads(1)
    for model_name, model_spec in MODELS.items():
        run(model_name, model_spec, sys.argv[1])
