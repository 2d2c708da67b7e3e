"""webgan's SAGAN presets as torch.nn modules, laid out and named as `sagan_models.py` of the
PyTorch port heykeetae/Self-Attention-GAN names them (`l1.0.weight_orig`, `l1.1.running_mean`,
`attn1.query_conv.weight`, `attn1.gamma`, `last.0.weight`), with torch.nn.utils.spectral_norm
on every convolution but the last.

sagan64 is the port's 64-pixel model: G's ladder l1–l4 from 8·ngf down to ngf with attention on
its 16×16 and 32×32 maps, D's l1–l4 from ndf up to 8·ndf with attention on its 8×8 and 4×4 maps.
sagan32 drops one level of each ladder (the port cannot build a 32-pixel model) and keeps
attention on G's two largest maps (8×8, 16×16) and on D's 8×8 and 4×4 maps, as webgan does.

Conditional models (classes > 0) take the paper's form, as the conditional PyTorch ports
(voletiv/self-attention-GAN-pytorch) build it: every batch norm of G is a
ConditionalBatchNorm2d (`l1.1.bn` without scale and shift, then the class's row of `l1.1.embed`
as [γ; β]), and D is a projection discriminator whose logit adds ⟨embed(y), Σ_pixels h⟩ to
last(h), h its features before `last` and `embed` a spectrally normalised nn.Embedding.
"""

import torch
from torch import nn
from torch.nn.utils import spectral_norm

from .networks import BatchNorm2d

PRESETS = {"sagan32": 32, "sagan64": 64}


class Self_Attn(nn.Module):  # noqa: N801 (the port's name)
    """SAGAN's self-attention: with q, k (c/8 channels) and v (c) from 1×1 convolutions over the
    n = h·w positions, attention[i, j] = softmax over j of q_i·k_j, out = v·attentionᵀ, and
    y = γ·out + x, γ starting at 0. The port's module returns (y, attention); this one returns
    y, so that the networks give images and logits as the DCGAN modules do."""

    def __init__(self, in_dim, activation="relu"):
        super().__init__()
        # `activation` is the port's argument, which its Self_Attn keeps and never applies.
        self.chanel_in, self.activation = in_dim, activation
        self.query_conv = nn.Conv2d(in_dim, in_dim // 8, 1)
        self.key_conv = nn.Conv2d(in_dim, in_dim // 8, 1)
        self.value_conv = nn.Conv2d(in_dim, in_dim, 1)
        self.gamma = nn.Parameter(torch.zeros(1))
        self.softmax = nn.Softmax(dim=-1)

    def forward(self, x):
        n, c, h, w = x.shape
        query = self.query_conv(x).reshape(n, -1, h * w).permute(0, 2, 1)  # [n, hw, c/8]
        key = self.key_conv(x).reshape(n, -1, h * w)  # [n, c/8, hw]
        attention = self.softmax(torch.bmm(query, key))  # rows i, columns j
        value = self.value_conv(x).reshape(n, -1, h * w)  # [n, c, hw]
        out = torch.bmm(value, attention.permute(0, 2, 1)).reshape(n, c, h, w)
        return self.gamma * out + x


class ConditionalBatchNorm2d(nn.Module):
    """Batch norm without its own scale and shift, then the class's: γ and β, each [C], are
    the class's row of `embed` ([classes, 2C], rows starting at γ 1, β 0)."""

    def __init__(self, num_features, num_classes):
        super().__init__()
        self.num_features = num_features
        self.bn = BatchNorm2d(num_features, affine=False)
        self.embed = nn.Embedding(num_classes, num_features * 2)
        with torch.no_grad():
            self.embed.weight[:, :num_features].fill_(1.0)
            self.embed.weight[:, num_features:].zero_()

    def forward(self, x, classes):
        gamma, beta = self.embed(classes.long()).chunk(2, 1)
        return gamma[:, :, None, None] * self.bn(x) + beta[:, :, None, None]


class _Level(nn.Module):
    """A conditional G's level `l{i}`: `0` the transposed convolution, `1` its conditional batch
    norm, `2` the ReLU, named as the unconditional level's nn.Sequential names them."""

    def __init__(self, conv, width, classes):
        super().__init__()
        self.add_module("0", conv)
        self.add_module("1", ConditionalBatchNorm2d(width, classes))
        self.add_module("2", nn.ReLU())

    def forward(self, x, classes):
        modules = list(self.children())
        return modules[2](modules[1](modules[0](x), classes))


def _classes(classes, n_classes, which):
    if classes is None:
        raise ValueError(f"this {which} is conditional: give a class (0 to {n_classes - 1}) per "
                         f"image")
    return classes.long()


def _up(cin, cout, stride=2, padding=1, normalised=True):
    conv = nn.ConvTranspose2d(cin, cout, 4, stride, padding)
    # spectral_norm takes dim 1 (the output channels) for transposed convolutions, as webgan.
    return spectral_norm(conv) if normalised else conv


def _down(cin, cout, stride=2, padding=1, normalised=True):
    conv = nn.Conv2d(cin, cout, 4, stride, padding)
    return spectral_norm(conv) if normalised else conv


def _levels(size):
    if size not in (32, 64):
        raise ValueError(f"a SAGAN makes 32- or 64-pixel images, not {size}")
    return 4 if size == 64 else 3


def _check_widths(ngf, ndf):
    # Attention at the narrowest level gives queries and keys an eighth of ngf (ndf) channels.
    if ngf < 8 or ndf < 8:
        raise ValueError(f"a SAGAN needs ngf and ndf of at least 8 (its self-attention gives "
                         f"queries and keys an eighth of a layer's channels), not ngf {ngf} and "
                         f"ndf {ndf}")


class Generator(nn.Module):
    """z ([n, nz] or [n, nz, 1, 1]) and, for a conditional model, classes ([n] integers) to
    images in [−1, 1]."""

    def __init__(self, image_size=64, z_dim=128, conv_dim=64, channels=3, classes=0):
        super().__init__()
        _check_widths(conv_dim, 8)
        self.nz, self.classes = z_dim, classes
        levels = _levels(image_size)
        self.order = []
        width = conv_dim << (levels - 1)
        cin = z_dim
        for level in range(1, levels + 1):
            conv = _up(cin, width, 1, 0) if level == 1 else _up(cin, width)
            if classes:
                self.add_module(f"l{level}", _Level(conv, width, classes))
            else:
                self.add_module(f"l{level}", nn.Sequential(conv, BatchNorm2d(width), nn.ReLU()))
            self.order.append(f"l{level}")
            # Attention after the last two levels: the two largest maps.
            if level + 1 >= levels:
                name = f"attn{level + 2 - levels}"
                self.add_module(name, Self_Attn(width, "relu"))
                self.order.append(name)
            cin, width = width, width // 2
        self.last = nn.Sequential(_up(conv_dim, channels, normalised=False), nn.Tanh())
        self.order.append("last")

    def forward(self, z, classes=None):
        x = z.reshape(z.shape[0], self.nz, 1, 1)
        if self.classes:
            classes = _classes(classes, self.classes, "generator")
        for name in self.order:
            module = getattr(self, name)
            x = module(x, classes) if isinstance(module, _Level) else module(x)
        return x


class Discriminator(nn.Module):
    """Images (and, for a conditional model, their classes) to one logit each."""

    def __init__(self, image_size=64, conv_dim=64, channels=3, classes=0):
        super().__init__()
        _check_widths(8, conv_dim)
        self.classes = classes
        levels = _levels(image_size)
        self.order = []
        cin, width = channels, conv_dim
        for level in range(1, levels + 1):
            self.add_module(f"l{level}", nn.Sequential(_down(cin, width), nn.LeakyReLU(0.1)))
            self.order.append(f"l{level}")
            # Attention on the last two levels' maps: 8×8 and 4×4.
            if level + 1 >= levels:
                name = f"attn{level + 2 - levels}"
                self.add_module(name, Self_Attn(width, "relu"))
                self.order.append(name)
            cin, width = width, width * 2
        self.last = nn.Sequential(_down(cin, 1, 1, 0, normalised=False))
        if classes:
            # The projection's class embedding, spectrally normalised over dim 0 (the classes).
            self.embed = spectral_norm(nn.Embedding(classes, cin))

    def forward(self, x, classes=None):
        for name in self.order:
            x = getattr(self, name)(x)
        logit = self.last(x).reshape(x.shape[0])
        if not self.classes:
            return logit
        classes = _classes(classes, self.classes, "discriminator")
        return logit + (self.embed(classes) * x.sum((2, 3))).sum(1)


def sagan_networks(config):
    """netG and netD (and netG_ema where the run keeps one) of a SAGAN run's configuration
    (webgan's JSON: preset, nz, ngf, ndf, channels, classes, ema)."""
    preset = config["preset"]
    if preset not in PRESETS:
        raise ValueError(f"unknown preset '{preset}': choose {', '.join(PRESETS)}")
    size, nz, classes, channels = PRESETS[preset], config["nz"], config["classes"], config["channels"]
    _check_widths(config["ngf"], config["ndf"])
    g = lambda: Generator(size, nz, config["ngf"], channels, classes)  # noqa: E731
    nets = {"netG": g(), "netD": Discriminator(size, config["ndf"], channels, classes)}
    if config.get("ema") is not None:
        # The moving average of G's weights, which samples are drawn from.
        nets["netG_ema"] = g()
    return nets
