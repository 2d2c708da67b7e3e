"""Milliseconds per training step of webgan's image-to-image presets in PyTorch on the CPU: the
peer of `webgan bench train --presets pix2pix64,...` (same networks, losses, batch and inputs:
noise images in [−1, 1]).

    python -m webgan_torch.bench --presets pix2pix64,cyclegan64 --steps 3 --threads 2
"""

import argparse
import re
import time

import torch

from .recipes import CycleGan, Pix2Pix

ADAM = {"kind": "adam", "lr": 2e-4, "beta1": 0.5, "beta2": 0.999, "eps": 1e-8}


def config(preset):
    """The reference's defaults, as `webgan train --family ...` takes them, at the preset's
    size: ngf = ndf = 64, batch 1, a 3-layer PatchGAN; pix2pix a U-Net down to 1×1 with batch
    norm and dropout; CycleGAN 6 residual blocks, instance norm, pools of 50."""
    m = re.fullmatch(r"(pix2pix|cyclegan)(64|128|256)", preset)
    if m is None:
        raise ValueError(f"unknown preset '{preset}': pix2pix or cyclegan, then 64, 128 or 256")
    family, size = m[1], int(m[2])
    common = {"size": size, "input_nc": 3, "output_nc": 3, "ngf": 64, "ndf": 64,
              "n_layers_D": 3, "batch_size": 1, "g_optimizer": ADAM, "d_optimizer": ADAM}
    if family == "pix2pix":
        return family, {**common, "norm": "batch", "use_dropout": True, "gan_mode": "vanilla",
                        "lambda_L1": 100.0, "num_downs": size.bit_length() - 1}
    return family, {**common, "norm": "instance", "use_dropout": False, "n_blocks": 6,
                    "pool_size": 50, "lambda_A": 10.0, "lambda_B": 10.0, "lambda_identity": 0.5}


def bench(preset, steps, warmup):
    family, c = config(preset)
    recipe = Pix2Pix(c) if family == "pix2pix" else CycleGan(c)
    shape = (c["batch_size"], 3, c["size"], c["size"])
    a, b = torch.rand(shape) * 2 - 1, torch.rand(shape) * 2 - 1
    for _ in range(warmup):
        recipe.step(a, b)
    start = time.perf_counter()
    for _ in range(steps):
        recipe.step(a, b)
    ms = (time.perf_counter() - start) * 1000 / steps
    return ms, c["batch_size"] * 1000 / ms


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--presets", default="pix2pix64,pix2pix128,cyclegan64,cyclegan128")
    p.add_argument("--steps", type=int, default=3, help="timed steps per preset")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads")
    print("| preset | batch | ms/step | images/s |\n|---|---:|---:|---:|")
    for preset in args.presets.split(","):
        ms, rate = bench(preset.strip(), args.steps, args.warmup)
        print(f"| {preset} | 1 | {ms:,.0f} | {rate:.3g} |", flush=True)


if __name__ == "__main__":
    main()
