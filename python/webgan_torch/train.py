"""Continue (or start) a webgan DCGAN, SAGAN or InfoGAN run in PyTorch, on one process or many
under torchrun, and write a checkpoint that `webgan train --resume` and the page's "Load
checkpoint" continue from.

    webgan export-dataset --data faces.zip --out faces.safetensors
    torchrun --nproc_per_node 2 -m webgan_torch.train --resume run/checkpoint.safetensors \\
        --data faces.safetensors --steps 20000 --out run
    webgan train --resume run/checkpoint.safetensors --data faces.zip --steps 25000 --out run

The flags and defaults are `webgan train`'s (for the SAGAN presets, SAGAN's: hinge loss, Adam
with β1 0, β2 0.9 and lr 4e-4 for D, 1e-4 for G, nz 128, batch 64 or 32 at 64 pixels; for
infogan28, InfoGAN's: noise of 62 uniform in (−1, 1), G's lr 1e-3, batch 128, a categorical code
of 10 values and 2 continuous codes, λ 1; for --loss wgan-gp, WGAN-GP's: 5 D steps, Adam 1e-4
with β1 0, β2 0.9, D without batch norm).
A resumed run takes its configuration from the checkpoint and may change only the learning
rates, the label smoothing and DiffAugment, as in webgan. The batch is the whole step's: each of
N processes draws batch/N images of it.
"""

import argparse
import csv
import math
import os
import signal
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn

from . import checkpoint as ck
from .data import load_dataset
from .infogan import check_codes
from .presets import CODES_DEFAULTS, PRESETS, gan_networks, is_infogan, is_sagan, recipe_defaults
from .diffaugment import parse as parse_augment
from .draws import TorchDraws, WebganDraws
from .gan import DcganStep

# webgan train's defaults.
DEFAULTS = {
    "steps": 5000, "out": "webgan-run", "batch": 64, "k": 1, "loss": "bce", "optimizer": "adam",
    "lr_d": 2e-4, "lr_g": 2e-4, "beta1": 0.5, "beta2": 0.999, "momentum": 0.9,
    "label_smoothing": 0.0, "clip": 0.01, "augment": "none", "nz": 100, "ngf": 64, "ndf": 64,
    "prior": "normal", "seed": 1, "every": 100, "checkpoint_every": 1000, "lambda_gp": 10.0,
    "r1_every": 1,
    **CODES_DEFAULTS,
}
# What --loss wgan-gp changes for a DCGAN preset unless a flag says otherwise (Gulrajani et al.'s
# defaults, as webgan's `TrainConfig::wgan_gp`); a SAGAN preset would keep its two time-scale Adam.
WGAN_GP_DEFAULTS = {"k": 5, "lr_d": 1e-4, "lr_g": 1e-4, "beta1": 0.0, "beta2": 0.9}
# What a resumed run may change (the rest is the checkpoint's).
CHANGEABLE = {"lr_d", "lr_g", "label_smoothing", "augment"}
# Flags that say how long and where, not what is trained.
RUN_FLAGS = {"steps", "out", "every", "checkpoint_every", "data", "resume", "overwrite", "preset",
             "draws"}


class UserError(Exception):
    """A sentence for the person who typed the command."""


def arguments(argv):
    p = argparse.ArgumentParser(prog="python -m webgan_torch.train", description=__doc__.splitlines()[0])
    flag = lambda name, **kw: p.add_argument(name, default=None, **kw)  # noqa: E731
    flag("--data", help="a dataset file written by `webgan export-dataset`")
    flag("--resume", help="a checkpoint written by webgan (or by this trainer)")
    flag("--preset", help="dcgan28, dcgan32, dcgan64, sagan32, sagan64 or infogan28 (default: the "
         "dataset's)")
    flag("--steps", type=int, help="steps to train to, counting a resumed run's [5000]")
    flag("--out", help="where checkpoint.safetensors and metrics.csv go [webgan-run]")
    flag("--batch", type=int, help="the whole step's batch, shared by the processes [64; sagan64: 32, "
         "infogan28: 128]")
    flag("--k", type=int, help="discriminator updates per generator update [1]")
    flag("--loss", help="bce, minimax, wgan (weight clipping), wgan-gp (the gradient penalty: k 5, "
         "Adam 1e-4 with β 0/0.9, D without batch norm) or hinge [bce; SAGAN: hinge]")
    flag("--lambda-gp", type=float, help="WGAN-GP's penalty weight λ on (‖∇D(x̂)‖ − 1)² [10]")
    flag("--r1", type=float, help="R1's weight γ: γ/2·‖∇D(x)‖² on the real batch each D step "
         "(D is then built without batch norm); for the bce, minimax and hinge losses")
    flag("--r1-every", type=int, help="lazy R1, as StyleGAN2's: the penalty in every N-th D "
         "update only (counted across the run, as webgan counts them), at N times its weight [1]")
    flag("--optimizer", help="adam or sgd [adam]")
    flag("--lr-d", type=float)
    flag("--lr-g", type=float)
    flag("--beta1", type=float)
    flag("--beta2", type=float)
    flag("--momentum", type=float)
    flag("--label-smoothing", type=float)
    flag("--clip", type=float)
    flag("--ema", type=float, help="keep a moving average of G's weights with this β")
    flag("--augment", help="DiffAugment: color,translation,cutout (any of them) or none")
    flag("--nz", type=int)
    flag("--ngf", type=int)
    flag("--ndf", type=int)
    flag("--prior", help="normal or uniform")
    flag("--categorical", type=int, help="InfoGAN: values of its categorical code, 0 for none [10]")
    flag("--continuous", type=int, help="InfoGAN: continuous codes, each uniform in (−1, 1) [2]")
    flag("--info-reg-coeff", type=float, help="InfoGAN: weight λ of the mutual-information term "
         "in D's and G's losses [1]")
    flag("--seed", type=int)
    flag("--every", type=int, help="log to metrics.csv every this many steps [100]")
    flag("--checkpoint-every", type=int, help="write the checkpoint every this many steps [1000]")
    p.add_argument("--draws", choices=("webgan", "torch"), default="webgan",
                   help="webgan: the batches, noise and augmentations webgan's streams draw, each "
                   "process taking its slice of the step's batch, so a run goes on as webgan "
                   "would; torch: a DistributedSampler over epochs and torch's generator")
    p.add_argument("--unconditional", action="store_true")
    p.add_argument("--overwrite", action="store_true")
    args = p.parse_args(argv)
    typed = {k for k, v in vars(args).items() if v not in (None, False)}
    for k, v in DEFAULTS.items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    return args, typed


def check_numbers(a):
    def within(name, v, lo, hi):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and lo <= v <= hi):
            raise UserError(f"--{name.replace('_', '-')} must be from {lo} to {hi}, not {v}")

    within("steps", a.steps, 1, 10**9)
    within("batch", a.batch, 2, 4096)
    within("k", a.k, 1, 100)
    within("lr_d", a.lr_d, 1e-12, 10)
    within("lr_g", a.lr_g, 1e-12, 10)
    within("beta1", a.beta1, 0, 0.999999)
    within("beta2", a.beta2, 0, 0.999999)
    within("momentum", a.momentum, 0, 0.999999)
    within("label_smoothing", a.label_smoothing, 0, 0.49)
    within("clip", a.clip, 1e-9, 100)
    within("nz", a.nz, 1, 4096)
    within("ngf", a.ngf, 1, 1024)
    within("ndf", a.ndf, 1, 1024)
    within("every", a.every, 0, 10**9)
    within("checkpoint_every", a.checkpoint_every, 0, 10**9)
    if a.ema is not None:
        within("ema", a.ema, 0, 0.999999)
    within("lambda_gp", a.lambda_gp, 0, 1e9)
    within("info_reg_coeff", a.info_reg_coeff, 0, 1e9)
    try:
        check_codes(a.categorical, a.continuous)
    except ValueError as e:
        raise UserError(str(e)) from None
    within("r1_every", a.r1_every, 1, 1000)
    if a.r1_every > 1 and a.r1 is None:
        raise UserError("--r1-every makes R1 lazy: give R1's weight with --r1 too")
    if a.r1 is not None:
        within("r1", a.r1, 1e-12, 1e9)
        if a.loss in ("wgan", "wgan-gp"):
            raise UserError(f"R1 penalises the non-saturating and hinge losses, not {a.loss}: "
                            f"choose --loss bce or hinge")
    for name, value, choices in (("loss", a.loss, ("bce", "minimax", "wgan", "wgan-gp", "hinge")),
                                 ("optimizer", a.optimizer, ("adam", "sgd")),
                                 ("prior", a.prior, ("normal", "uniform"))):
        if value not in choices:
            raise UserError(f"unknown --{name} '{value}': choose {', '.join(choices)}")
    try:
        parse_augment(a.augment)
    except ValueError as e:
        raise UserError(str(e)) from None


def optimizer_config(a, lr):
    if a.optimizer == "adam":
        return {"kind": "adam", "lr": lr, "beta1": a.beta1, "beta2": a.beta2, "eps": 1e-8,
                "weight_decay": 0.0}
    return {"kind": "sgd", "lr": lr, "momentum": a.momentum, "weight_decay": 0.0}


def fresh_preset(a, typed, data):
    """The preset a new run trains, with its recipe's defaults in `a` for the flags not typed."""
    preset = a.preset or data.preset
    if preset not in PRESETS:
        raise UserError(f"unknown preset '{preset}': choose {', '.join(PRESETS)}")
    for name, value in recipe_defaults(preset).items():
        if name not in typed:
            setattr(a, name, value)
    if not is_infogan(preset):
        for name in CODES_DEFAULTS:
            if name in typed:
                raise UserError(f"--{name.replace('_', '-')} is InfoGAN's: train with --preset "
                                f"infogan28")
    if a.loss == "wgan-gp":
        wgan_gp = {"k": 5} if is_sagan(preset) else WGAN_GP_DEFAULTS
        for name, value in wgan_gp.items():
            if name not in typed:
                setattr(a, name, value)
    return preset


def fresh_config(a, preset, data):
    infogan = is_infogan(preset)
    # InfoGAN learns its codes without the labels.
    classes = 0 if a.unconditional or data.labels is None or infogan else len(data.class_names)
    return {
        "preset": preset, "nz": a.nz, "ngf": a.ngf, "ndf": a.ndf,
        "channels": int(data.images.shape[1]), "classes": classes, "batch": a.batch,
        "d_steps": a.k, "loss": a.loss, "label_smoothing": a.label_smoothing,
        "d_optimizer": optimizer_config(a, a.lr_d), "g_optimizer": optimizer_config(a, a.lr_g),
        "prior": a.prior, "clip": a.clip, "ema": a.ema,
        "augment": "" if a.augment == "none" else a.augment, "seed": str(a.seed),
        "lambda_gp": a.lambda_gp, "r1": a.r1, "r1_every": a.r1_every,
        "categorical": a.categorical if infogan else 0,
        "continuous": a.continuous if infogan else 0, "info_reg_coeff": a.info_reg_coeff,
    }


def initialise(nets, seed):
    """webgan's (and examples/dcgan's) start: weights N(0, 0.02), batch norm's scale
    N(1, 0.02), biases and shifts 0 (and SAGAN's attention γ 0, as built; a conditional batch
    norm's class rows γ 1, β 0); spectral norm's u and v random unit vectors; the moving
    average starts as G."""
    torch.manual_seed(seed)
    for name in ("netG", "netD"):
        for m in nets[name].modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                if m.affine:
                    nn.init.normal_(m.weight, 1.0, 0.02)
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Embedding) and not hasattr(m, "weight_orig"):
                # A conditional batch norm's [γ; β] rows: γ 1, β 0.
                with torch.no_grad():
                    half = m.weight.shape[1] // 2
                    m.weight[:, :half].fill_(1.0)
                    m.weight[:, half:].zero_()
            elif isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)):
                # Under spectral norm, `weight` is W / σ, made from `weight_orig` each forward.
                normalised = hasattr(m, "weight_orig")
                nn.init.normal_(m.weight_orig if normalised else m.weight, 0.0, 0.02)
                if getattr(m, "bias", None) is not None:
                    nn.init.zeros_(m.bias)
                if normalised:
                    # Drawn again from the seed: spectral_norm drew them from torch's state
                    # when the module was built.
                    with torch.no_grad():
                        for vector in (m.weight_u, m.weight_v):
                            vector.copy_(nn.functional.normalize(torch.randn_like(vector), dim=0))
    if "netG_ema" in nets:
        nets["netG_ema"].load_state_dict(nets["netG"].state_dict())


def resumed_config(a, typed, loaded):
    c = dict(loaded.config)
    if a.preset is not None and a.preset != c["preset"]:
        raise UserError(f"{a.resume} holds a {c['preset']} model, not {a.preset}")
    refused = sorted(typed - CHANGEABLE - RUN_FLAGS - {"unconditional"})
    if refused:
        names = ", ".join("--" + r.replace("_", "-") for r in refused)
        raise UserError(
            f"a resumed run keeps its checkpoint's settings: {names} cannot change (a resumed "
            f"run may change --lr-d, --lr-g, --label-smoothing and --augment)")
    if "lr_d" in typed:
        c["d_optimizer"] = {**c["d_optimizer"], "lr": a.lr_d}
    if "lr_g" in typed:
        c["g_optimizer"] = {**c["g_optimizer"], "lr": a.lr_g}
    if "label_smoothing" in typed:
        c["label_smoothing"] = a.label_smoothing
    if "augment" in typed:
        c["augment"] = "" if a.augment == "none" else a.augment
    return c


def run(argv):
    a, typed = arguments(argv)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    check_numbers(a)
    if a.resume is None and "batch" in typed and a.batch % world:
        raise UserError(
            f"{world} processes cannot share a batch of {a.batch}: choose --nproc_per_node "
            f"dividing the batch (or a batch that {world} divides)")
    if a.data is None:
        raise UserError("--data is needed: a dataset file from `webgan export-dataset --data "
                        "your.zip --out data.safetensors` (the built-in digits: leave out --data "
                        "there)")
    try:
        data = load_dataset(a.data)
    except (OSError, ValueError) as e:
        raise UserError(str(e)) from None
    out = Path(a.out)
    existing = out / "checkpoint.safetensors"
    if a.resume is None and existing.exists() and not a.overwrite:
        raise UserError(f"{out} holds another run's checkpoint: continue it with --resume "
                        f"{existing}, or pass --overwrite")
    if a.resume is not None:
        try:
            loaded = ck.load(a.resume)
        except (OSError, ValueError, RuntimeError) as e:
            raise UserError(f"cannot resume from {a.resume}: {e}") from None
        if loaded.family in ("pix2pix", "cyclegan"):
            return run_translation(a, typed, loaded, data, world, rank, existing, out)
        if loaded.family != "dcgan":
            raise UserError(f"{a.resume} holds a {loaded.family} run, which webgan_torch.train "
                            f"does not continue")
        if hasattr(data, "family"):
            raise UserError(f"{a.data} holds a {data.family} run's images; this is a DCGAN run")
        c = resumed_config(a, typed, loaded)
        if c["batch"] % world:
            raise UserError(f"{world} processes cannot share a batch of {c['batch']} (the run's): "
                            f"choose --nproc_per_node dividing it")
        nets, step, counters = loaded.networks, loaded.step, list(loaded.tensors["state.counters"].tolist())
    else:
        if hasattr(data, "family"):
            raise UserError(f"{a.data} holds a {data.family} run's images: start that run in "
                            f"webgan and continue it here with --resume")
        preset = fresh_preset(a, typed, data)
        # Again, with the preset's defaults in place.
        check_numbers(a)
        if a.batch % world:
            raise UserError(
                f"{world} processes cannot share a batch of {a.batch} ({preset}'s default): "
                f"choose --nproc_per_node dividing the batch, or a --batch that {world} divides")
        c = fresh_config(a, preset, data)
        try:
            nets = gan_networks(c)
        except ValueError as e:
            raise UserError(str(e)) from None
        step, counters = 0, [0, 0, 0, 0]
        initialise(nets, a.seed)
    size = PRESETS[c["preset"]]
    want = (c["channels"], size, size)
    if tuple(data.images.shape[1:]) != want:
        raise UserError(f"{a.data} holds {tuple(data.images.shape[1:])} images; this {c['preset']} "
                        f"run needs {want}: export the zip again with --preset {c['preset']}")
    if c["classes"] and (data.labels is None or len(data.class_names) != c["classes"]):
        raise UserError(f"this run is conditional on {c['classes']} classes, and {a.data} holds "
                        f"{len(data.class_names)}: export the zip with the run's classes")
    if a.steps <= step:
        raise UserError(f"the run is at step {step} already: --steps counts from its start, so "
                        f"ask for more than {step}")
    try:
        parse_augment(c.get("augment") or "")
    except ValueError as e:
        raise UserError(str(e)) from None

    cuda = torch.cuda.is_available()
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}" if cuda else "cpu")
    if world > 1:
        dist.init_process_group("nccl" if cuda else "gloo")
    for net in nets.values():
        net.to(device)
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP

        wrap = lambda m: DDP(m, device_ids=[device.index] if cuda else None)  # noqa: E731
    else:
        wrap = lambda m: m  # noqa: E731
    gan = DcganStep(c, nets, wrap, step)
    if a.resume is not None:
        try:
            ck.load_optimizer_state(loaded, gan.opt_d, ["netD"], counters[1])
            ck.load_optimizer_state(loaded, gan.opt_g, ["netG"], counters[2])
        except ValueError as e:
            raise UserError(f"cannot resume from {a.resume}: {e}") from None
    draws = (WebganDraws if a.draws == "webgan" else TorchDraws)(data, c, rank, world, counters[0], device)
    lead = rank == 0
    if lead:
        out.mkdir(parents=True, exist_ok=True)
        print(f"{c['preset']}{' with ' + str(c['classes']) + ' classes' if c['classes'] else ''}, "
              f"batch {c['batch']} over {world} process{'es' if world > 1 else ''} on {device}, "
              f"{a.draws}'s draws, from step {step} to {a.steps}", file=sys.stderr)

    start_step, start_counters = step, counters
    stop = {"now": False}
    signal.signal(signal.SIGINT, lambda *_: stop.update(now=True))

    def save():
        done = step - start_step
        k = c["d_steps"]
        # webgan's counters: the RNG's (every real batch and every z), then each Adam's t.
        new = [draws.counter, start_counters[1] + done * k, start_counters[2] + done,
               start_counters[3]]
        ck.save(str(existing), "dcgan", c, nets, {gan.opt_d: ["netD"], gan.opt_g: ["netG"]}, step, new)

    metrics = None
    if lead:
        metrics, writer = open_metrics(out / "metrics.csv", a.resume is None, c)
    t0, last = time.perf_counter(), step
    while step < a.steps and not stop["now"]:
        d_loss, g_loss = gan.step(draws)
        step += 1
        if not (math.isfinite(d_loss) and math.isfinite(g_loss)):
            raise UserError(f"the losses became NaN at step {step}: nothing was written; resume "
                            f"the last checkpoint with a lower --lr-d/--lr-g")
        if lead and a.every and step % a.every == 0:
            rate = (step - last) * c["batch"] / (time.perf_counter() - t0)
            row = {"step": step, "d_loss": f"{d_loss:.6g}", "g_loss": f"{g_loss:.6g}",
                   "images_per_s": f"{rate:.4g}"}
            if gan.info:
                row["info_categorical"], row["info_continuous"] = (f"{v:.6g}" for v in gan.info)
            writer.writerow(row)
            metrics.flush()
            q = f", Q {gan.info[0]:.3f}/{gan.info[1]:.3f}" if gan.info else ""
            print(f"step {step}/{a.steps}: D {d_loss:.4f}, G {g_loss:.4f}{q}, {rate:.1f} images/s",
                  file=sys.stderr)
            t0, last = time.perf_counter(), step
        if lead and a.checkpoint_every and step % a.checkpoint_every == 0:
            save()
    if world > 1:
        # Every process has finished its steps before the checkpoint says they were taken.
        dist.barrier()
    if lead:
        save()
        metrics.close()
        print(f"done: step {step}; checkpoint {existing}", file=sys.stderr)
    if world > 1:
        dist.destroy_process_group()


def open_metrics(path, fresh, c):
    """metrics.csv and a writer of its rows: a new file for a new run; for a resumed one, rows
    appended under the file's own header (webgan's, which has more columns, left empty here)."""
    columns = ["step", "d_loss", "g_loss", "images_per_s"]
    if is_infogan(c["preset"]):
        # Q's two terms in G's step, as webgan logs them.
        columns += ["info_categorical", "info_continuous"]
    if not fresh and path.exists():
        with open(path, newline="") as f:
            header = next(csv.reader(f), None)
        if header and "step" in header:
            f = open(path, "a", newline="")
            return f, csv.DictWriter(f, header, restval="", extrasaction="ignore")
    f = open(path, "w", newline="")
    writer = csv.DictWriter(f, columns)
    writer.writeheader()
    return f, writer


def run_translation(a, typed, loaded, data, world, rank, existing, out):
    """A pix2pix or CycleGAN run resumed: its checkpoint's settings, PyTorch's draws."""
    from .data import TranslationData
    from .translation_train import train

    refused = sorted(typed - RUN_FLAGS)
    if refused:
        names = ", ".join("--" + r.replace("_", "-") for r in refused)
        raise UserError(f"a resumed {loaded.family} run keeps its checkpoint's settings: {names} "
                        f"cannot be given")
    if not isinstance(data, TranslationData):
        raise UserError(f"{a.data} holds a DCGAN dataset: export the {loaded.family} run's zip "
                        f"with `webgan export-dataset --data ZIP --like {a.resume} --out FILE`")
    if a.steps <= loaded.step:
        raise UserError(f"the run is at step {loaded.step} already: --steps counts from its "
                        f"start, so ask for more than {loaded.step}")
    cuda = torch.cuda.is_available()
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}" if cuda else "cpu")
    if world > 1:
        dist.init_process_group("nccl" if cuda else "gloo")
        from torch.nn.parallel import DistributedDataParallel as DDP

        wrap = lambda m: DDP(m.to(device), device_ids=[device.index] if cuda else None)  # noqa: E731
    else:
        wrap = lambda m: m  # noqa: E731
    lead = rank == 0
    say = (lambda t: print(t, file=sys.stderr)) if lead else (lambda t: None)
    if lead:
        out.mkdir(parents=True, exist_ok=True)
    try:
        save, step = train(a, loaded, data, world, rank, device, wrap, out, existing, say)
    except ValueError as e:
        raise UserError(str(e)) from None
    if world > 1:
        dist.barrier()
    if lead:
        save()
        say(f"done: step {step}; checkpoint {existing}")
    if world > 1:
        dist.destroy_process_group()


def main():
    try:
        run(sys.argv[1:])
    except UserError as e:
        # Every process finds the same fault; one says it.
        if os.environ.get("RANK", "0") == "0":
            print(f"webgan_torch.train: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
