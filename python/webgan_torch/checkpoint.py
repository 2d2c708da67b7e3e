"""webgan checkpoints in PyTorch.

A webgan checkpoint is a safetensors file: each network's state_dict under its name in the
reference's model (`netG.model.0.weight`, `netG_A.model.1.weight`, ...), the optimizers' Adam
moments under `optim.`, recipe state under `state.`, and in the metadata the family, the step and
the run's configuration as JSON (with the reference's option names: ngf, ndf, norm, n_blocks,
num_downs, n_layers_D, ...).
"""

import json
from dataclasses import dataclass

import torch
from safetensors.torch import load_file
from safetensors import safe_open

from .dcgan import dcgan_networks
from .networks import NLayerDiscriminator, ResnetGenerator, UnetGenerator, norm_layer


@dataclass
class Loaded:
    """A checkpoint's family ("dcgan", "pix2pix", "cyclegan"), step, configuration and networks, each
    holding the checkpoint's weights."""

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
        return dcgan_networks(config)
    if family not in ("pix2pix", "cyclegan"):
        raise ValueError(
            f"webgan_torch builds the DCGAN, pix2pix and CycleGAN networks; this checkpoint holds a {family} run"
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


def load_adam_state(loaded, optimizer, names):
    """Gives `optimizer` (a torch.optim.Adam over the parameters of the networks `names`) the
    checkpoint's Adam moments and step, so that its next step is the one webgan would take.
    webgan keeps a batch norm's moments as one tensor [γ; β], and every other parameter's
    flattened in the parameter's own layout."""
    params = {}
    for name in names:
        for module_name, module in loaded.networks[name].named_modules():
            prefix = f"optim.{name}.{module_name}"
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm) and module.affine:
                params[prefix] = [module.weight, module.bias]
                continue
            for param_name, p in module.named_parameters(recurse=False):
                params[f"{prefix}.{param_name}"] = [p]
    step = torch.tensor(float(loaded.step))
    wanted = {id(p) for group in optimizer.param_groups for p in group["params"]}
    for prefix, ps in params.items():
        moments = []
        for moment in ("exp_avg", "exp_avg_sq"):
            key = f"{prefix}.{moment}"
            if key not in loaded.tensors:
                raise ValueError(f"the checkpoint has no Adam state {key}")
            moments.append(torch.split(loaded.tensors[key], [p.numel() for p in ps]))
        for i, p in enumerate(ps):
            if id(p) not in wanted:
                raise ValueError(f"the optimizer does not step {prefix}")
            optimizer.state[p] = {
                "step": step.clone(),
                "exp_avg": moments[0][i].reshape(p.shape).clone(),
                "exp_avg_sq": moments[1][i].reshape(p.shape).clone(),
            }
