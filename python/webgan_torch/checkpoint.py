"""webgan checkpoints in PyTorch.

A webgan checkpoint is a safetensors file: each network's state_dict under its name in the
reference's model (`netG.model.0.weight`, `netG_A.model.1.weight`, ...), the optimizers' Adam
moments under `optim.`, recipe state under `state.`, and in the metadata the family, the step and
the run's configuration as JSON (with the reference's option names: ngf, ndf, norm, n_blocks,
num_downs, n_layers_D, ...).
"""

import json
import os
from dataclasses import dataclass

import torch
from safetensors.torch import load_file, save_file
from safetensors import safe_open

from .presets import gan_networks
from .networks import NLayerDiscriminator, ResnetGenerator, UnetGenerator, norm_layer


@dataclass
class Loaded:
    """A checkpoint's family ("dcgan", which the SAGAN and InfoGAN presets are too, "pix2pix",
    "cyclegan"), step, configuration and networks, each holding the checkpoint's weights."""

    family: str
    step: int
    config: dict
    networks: dict
    # Every tensor of the file, by its name: the optimizers' moments, the recipe's state.
    tensors: dict


def networks_of(family, config):
    """The networks a run of `family` with `config` trains, by their checkpoint names, with
    fresh weights."""
    if family == "dcgan":
        # webgan's `dcgan` recipe trains the DCGAN, SAGAN and InfoGAN presets.
        return gan_networks(config)
    if family not in ("pix2pix", "cyclegan"):
        raise ValueError(
            f"webgan_torch builds the DCGAN, SAGAN, InfoGAN, pix2pix and CycleGAN networks; this "
            f"checkpoint holds a {family} run"
        )
    norm = norm_layer(config["norm"])
    ngf, ndf, n_layers = config["ngf"], config["ndf"], config["n_layers_D"]
    a, b = config["input_nc"], config["output_nc"]
    dropout = config["use_dropout"]
    if family == "pix2pix":
        return {
            "netG": UnetGenerator(a, b, config["num_downs"], ngf, norm, dropout),
            # D judges the input and the output stacked along the channels.
            "netD": NLayerDiscriminator(a + b, ndf, n_layers, norm),
        }
    blocks = config["n_blocks"]
    return {
        "netG_A": ResnetGenerator(a, b, ngf, norm, dropout, blocks),
        "netG_B": ResnetGenerator(b, a, ngf, norm, dropout, blocks),
        "netD_A": NLayerDiscriminator(b, ndf, n_layers, norm),
        "netD_B": NLayerDiscriminator(a, ndf, n_layers, norm),
    }


def load(path):
    """Reads a webgan checkpoint into its networks (strictly: every name and shape must match),
    in eval mode."""
    with safe_open(path, "pt") as f:
        meta = f.metadata() or {}
    if "format" not in meta:
        raise ValueError(f"{path} is not a webgan checkpoint (no `format` in its metadata)")
    family = meta.get("family", "dcgan")
    config = json.loads(meta["config"])
    tensors = load_file(path)
    networks = networks_of(family, config)
    for name, net in networks.items():
        prefix = name + "."
        state = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        # webgan counts batch-norm updates as i64, as PyTorch does.
        state = {k: v.to(torch.int64) if k.endswith("num_batches_tracked") else v
                 for k, v in state.items()}
        net.load_state_dict(state, strict=True)
        net.eval()
    return Loaded(family, int(meta.get("step", 0)), config, networks, tensors)


def _param_groups(loaded_networks, names):
    """webgan's optimizer-state names for each network's parameters: a batch norm's two as one
    tensor [γ; β] under the module's name, every other parameter under its own."""
    groups = {}
    for name in names:
        for module_name, module in loaded_networks[name].named_modules():
            prefix = f"optim.{name}.{module_name}"
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm) and module.affine:
                groups[prefix] = [module.weight, module.bias]
                continue
            for param_name, p in module.named_parameters(recurse=False):
                groups[f"{prefix}.{param_name}"] = [p]
    return groups


def _moments(optimizer):
    if isinstance(optimizer, torch.optim.Adam):
        return ("exp_avg", "exp_avg_sq")
    if isinstance(optimizer, torch.optim.SGD):
        return ("momentum_buffer",)
    raise ValueError(f"webgan keeps the state of Adam and SGD, not of {type(optimizer).__name__}")


def load_optimizer_state(loaded, optimizer, names, t):
    """Gives `optimizer` (Adam or SGD over the parameters of the networks `names`) the
    checkpoint's moments (and, for Adam, `t` steps taken), so that its next step is the one
    webgan would take. webgan keeps a batch norm's moments as one tensor [γ; β], and every
    other parameter's flattened in the parameter's own layout."""
    wanted = {id(p) for group in optimizer.param_groups for p in group["params"]}
    for prefix, ps in _param_groups(loaded.networks, names).items():
        state = [{} for _ in ps]
        for moment in _moments(optimizer):
            key = f"{prefix}.{moment}"
            if key not in loaded.tensors:
                raise ValueError(f"the checkpoint has no optimizer state {key}: it was not written by a run with this optimizer")
            for i, part in enumerate(torch.split(loaded.tensors[key], [p.numel() for p in ps])):
                state[i][moment] = part.reshape(ps[i].shape).clone()
        for p, st in zip(ps, state):
            if id(p) not in wanted:
                raise ValueError(f"the optimizer does not step {prefix}")
            if isinstance(optimizer, torch.optim.Adam):
                st["step"] = torch.tensor(float(t))
            optimizer.state[p] = st


def load_adam_state(loaded, optimizer, names):
    """`load_optimizer_state` for a run that has taken one Adam step per step (pix2pix,
    CycleGAN, DCGAN with k = 1)."""
    load_optimizer_state(loaded, optimizer, names, loaded.step)


def save(path, family, config, networks, optimizers, step, counters, extra=None):
    """Writes a checkpoint webgan resumes from: `networks` by name, each optimizer's state in
    `optimizers` ({optimizer: [network names]}), the step, the recipe's `counters` and `extra`
    integer tensors (recipe state) under `state.`, and the configuration. Written to a temporary
    file and renamed, so a crash never leaves half a checkpoint."""
    tensors = {}
    for name, net in networks.items():
        for key, value in net.state_dict().items():
            if key.endswith("num_batches_tracked"):
                tensors[f"{name}.{key}"] = value.detach().to(torch.int64).reshape(())
            else:
                tensors[f"{name}.{key}"] = value.detach().float().contiguous()
    for optimizer, names in optimizers.items():
        for prefix, ps in _param_groups(networks, names).items():
            for moment in _moments(optimizer):
                parts = [optimizer.state.get(p, {}).get(moment, torch.zeros_like(p)) for p in ps]
                tensors[f"{prefix}.{moment}"] = torch.cat([t.reshape(-1) for t in parts]).float()
    tensors["state.counters"] = torch.tensor(counters, dtype=torch.int64)
    tensors["state.step"] = torch.tensor(step, dtype=torch.int64)
    for key, value in (extra or {}).items():
        tensors[f"state.{key}"] = value
    meta = {"format": "webgan-1", "step": str(step), "config": json.dumps(config)}
    if family != "dcgan":
        meta["family"] = family
    tmp = f"{path}.tmp"
    save_file(tensors, tmp, metadata=meta)
    os.replace(tmp, path)
