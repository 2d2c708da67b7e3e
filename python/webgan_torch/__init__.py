"""webgan's networks in PyTorch: the DCGAN, SAGAN and InfoGAN presets, pix2pix and CycleGAN.

The modules carry exactly the parameter names webgan writes into its checkpoints, which are the
names of the reference implementations (SAGAN: `sagan_models.py` of
heykeetae/Self-Attention-GAN, with torch.nn.utils.spectral_norm; InfoGAN: openai/InfoGAN's
MNIST networks, named as nn.Sequential names them; pix2pix and CycleGAN:
`models/networks.py` of junyanz/pytorch-CycleGAN-and-pix2pix), so `load_state_dict(strict=True)`
takes a webgan network as it is. `checkpoint.load` reads a webgan checkpoint into the networks
its configuration names.
"""

from .checkpoint import Loaded, load, load_adam_state, load_optimizer_state, networks_of, save
from .networks import NLayerDiscriminator, ResnetGenerator, UnetGenerator, norm_layer

__all__ = [
    "Loaded",
    "load",
    "load_adam_state",
    "load_optimizer_state",
    "save",
    "networks_of",
    "NLayerDiscriminator",
    "ResnetGenerator",
    "UnetGenerator",
    "norm_layer",
]
