"""Milliseconds per training step of webgan's presets in PyTorch on the CPU (or a GPU): the peer
of `webgan bench train` (same networks, losses, batch and inputs: noise images), on one process
or, under torchrun, on several sharing each step's batch as webgan_torch.train shares it.

    python -m webgan_torch.bench --presets dcgan28,pix2pix64,cyclegan64 --steps 3 --threads 2
    python -m webgan_torch.bench --presets sagan32,sagan64 --steps 3
    python -m webgan_torch.bench --presets infogan28 --steps 3
    torchrun --nproc_per_node 2 -m webgan_torch.bench --presets dcgan28 --threads 1
"""

import argparse
import os
import re
import time

import torch
import torch.distributed as dist

from .presets import CODES_DEFAULTS, PRESETS, gan_networks, is_infogan, recipe_defaults
from .gan import DcganStep
from .recipes import CycleGan, Pix2Pix

ADAM = {"kind": "adam", "lr": 2e-4, "beta1": 0.5, "beta2": 0.999, "eps": 1e-8,
        "weight_decay": 0.0}
# webgan bench train's batches.
DCGAN_BATCH = {"dcgan28": 64, "dcgan32": 64, "dcgan64": 128}


def config(preset):
    """The preset's defaults: DCGAN's, SAGAN's and InfoGAN's as `webgan train` has them
    (unconditional, gray at 28, RGB above; SAGAN's hinge loss, two time-scale Adam, nz 128;
    InfoGAN's uniform noise of 62, its codes, G's lr 1e-3, batch 128); pix2pix's and
    CycleGAN's as the reference has them (ngf = ndf = 64, batch 1, a 3-layer PatchGAN; pix2pix
    a U-Net down to 1×1 with batch norm and dropout; CycleGAN 6 residual blocks, instance norm,
    pools of 50)."""
    if preset in DCGAN_BATCH:
        return "dcgan", {
            "preset": preset, "nz": 100, "ngf": 64, "ndf": 64,
            "channels": 1 if preset == "dcgan28" else 3, "classes": 0,
            "batch": DCGAN_BATCH[preset], "d_steps": 1, "loss": "bce", "label_smoothing": 0.0,
            "d_optimizer": ADAM, "g_optimizer": ADAM, "prior": "normal", "clip": 0.01,
            "ema": None, "augment": "", "seed": "1",
        }
    if is_infogan(preset):
        o = recipe_defaults(preset)
        return "dcgan", {
            **config("dcgan28")[1], **CODES_DEFAULTS, "preset": preset, "nz": o["nz"],
            "batch": o["batch"], "prior": o["prior"], "g_optimizer": {**ADAM, "lr": o["lr_g"]},
        }
    if preset in PRESETS:
        o = recipe_defaults(preset)
        adam = lambda lr: {**ADAM, "lr": lr, "beta1": o["beta1"], "beta2": o["beta2"]}  # noqa: E731
        return "dcgan", {
            "preset": preset, "nz": o["nz"], "ngf": 64, "ndf": 64, "channels": 3, "classes": 0,
            "batch": o["batch"], "d_steps": 1, "loss": o["loss"], "label_smoothing": 0.0,
            "d_optimizer": adam(o["lr_d"]), "g_optimizer": adam(o["lr_g"]), "prior": "normal",
            "clip": 0.01, "ema": None, "augment": "", "seed": "1",
        }
    m = re.fullmatch(r"(pix2pix|cyclegan)(64|128|256)", preset)
    if m is None:
        raise ValueError(f"unknown preset '{preset}': dcgan28, dcgan32, dcgan64, sagan32, "
                         f"sagan64, infogan28, or pix2pix or cyclegan then 64, 128 or 256")
    family, size = m[1], int(m[2])
    common = {"size": size, "input_nc": 3, "output_nc": 3, "ngf": 64, "ndf": 64,
              "n_layers_D": 3, "batch_size": 1, "g_optimizer": ADAM, "d_optimizer": ADAM}
    if family == "pix2pix":
        return family, {**common, "norm": "batch", "use_dropout": True, "gan_mode": "vanilla",
                        "lambda_L1": 100.0, "num_downs": size.bit_length() - 1}
    return family, {**common, "norm": "instance", "use_dropout": False, "n_blocks": 6,
                    "pool_size": 50, "lambda_A": 10.0, "lambda_B": 10.0, "lambda_identity": 0.5}


class _NoiseDraws:
    """DCGAN's draws on noise images: this process's share of each batch."""

    def __init__(self, c, share):
        size = PRESETS[c["preset"]]
        self.images = torch.randint(0, 256, (share, c["channels"], size, size), dtype=torch.uint8)
        self.c, self.share, self.counter = c, share, 0

    def real(self):
        return self.images, None

    def latent(self):
        return torch.randn(self.share, self.c["nz"]), None

    def codes(self, categorical, continuous):
        k = torch.randint(0, max(categorical, 1), (self.share,))
        return k, torch.rand(self.share, continuous) * 2 - 1

    def augment(self, k, h, w):
        return None


def bench(preset, steps, warmup, world):
    family, c = config(preset)
    if family == "dcgan":
        if c["batch"] % world:
            raise ValueError(f"{world} processes cannot share a batch of {c['batch']}")
        wrap = lambda m: m  # noqa: E731
        if world > 1:
            from torch.nn.parallel import DistributedDataParallel as DDP

            wrap = DDP
        gan = DcganStep(c, gan_networks(c), wrap)
        draws = _NoiseDraws(c, c["batch"] // world)
        step = lambda: gan.step(draws)  # noqa: E731
        batch = c["batch"]
    else:
        if world > 1:
            raise ValueError(f"{preset} trains at batch 1, which one process takes")
        recipe = Pix2Pix(c) if family == "pix2pix" else CycleGan(c)
        shape = (1, 3, c["size"], c["size"])
        a, b = torch.rand(shape) * 2 - 1, torch.rand(shape) * 2 - 1
        step = lambda: recipe.step(a, b)  # noqa: E731
        batch = 1
    for _ in range(warmup):
        step()
    if world > 1:
        dist.barrier()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if world > 1:
        dist.barrier()
    ms = (time.perf_counter() - start) * 1000 / steps
    return batch, ms, batch * 1000 / ms


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--presets", default="dcgan28,pix2pix64,cyclegan64")
    p.add_argument("--steps", type=int, default=3, help="timed steps per preset")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    p.add_argument("--threads", type=int, default=torch.get_num_threads(),
                   help="threads per process")
    args = p.parse_args()
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if world > 1:
        dist.init_process_group("gloo")
    torch.set_num_threads(args.threads)
    torch.manual_seed(1 + rank)
    lead = rank == 0
    if lead:
        print(f"PyTorch {torch.__version__}, {world} process{'es' if world > 1 else ''} of "
              f"{torch.get_num_threads()} thread{'s' if torch.get_num_threads() > 1 else ''}")
        print("| preset | batch | ms/step | images/s |\n|---|---:|---:|---:|", flush=True)
    for preset in args.presets.split(","):
        batch, ms, rate = bench(preset.strip(), args.steps, args.warmup, world)
        if lead:
            print(f"| {preset} | {batch} | {ms:,.0f} | {rate:.3g} |", flush=True)
    if world > 1:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
