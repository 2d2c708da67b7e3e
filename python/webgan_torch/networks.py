"""The image-to-image networks webgan trains, as torch.nn modules.

Each module is built from the same nn.Sequential layers, in the same order, as the class of the
same name in the reference implementation's `models/networks.py`, because the order is what
names the parameters (`model.1.weight`, `model.model.1.model.2.running_mean`, ...): a state_dict
of either loads into the other with `strict=True`. The constructors take the reference's
arguments and defaults.
"""

import functools

import torch
from torch import nn


class WebganRunningStats:
    """Batch norm whose running statistics move as webgan's do: by max(momentum, 1/(n + 1))
    after n updates, the plain average of the first batches until it is the exponential one.
    (PyTorch moves them by momentum = 0.1 from the start, so a young generator's running
    variance is still near its initial 1 after a few steps and eval-mode outputs come out
    flat.) From the tenth update on the two are the same. The state_dict is PyTorch's."""

    def forward(self, x):
        if self.training and self.track_running_stats:
            n = int(self.num_batches_tracked.item())
            self.momentum = max(0.1, 1.0 / (n + 1))
        return super().forward(x)


class BatchNorm2d(WebganRunningStats, nn.BatchNorm2d):
    """nn.BatchNorm2d with webgan's running statistics."""


def norm_layer(norm):
    """The normalisation a network is built with: "batch" (learned scale and shift, running
    statistics) or "instance" (neither, as the reference builds it), or "none"."""
    if norm == "batch":
        return functools.partial(BatchNorm2d, affine=True, track_running_stats=True)
    if norm == "instance":
        return functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)
    if norm == "none":
        return lambda channels: nn.Identity()
    raise ValueError(f"unknown norm '{norm}': choose batch, instance or none")


def _conv_bias(norm):
    # A conv followed by batch norm has no bias (the norm's shift replaces it); instance norm
    # has no shift, so the conv keeps its bias.
    return getattr(norm, "func", None) is nn.InstanceNorm2d


class ResnetBlock(nn.Module):
    """x + conv_block(x): reflection pad, 3×3 conv, norm, ReLU, [dropout], pad, conv, norm."""

    def __init__(self, dim, norm, use_dropout, use_bias):
        super().__init__()
        layers = [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=use_bias), norm(dim)]
        layers.append(nn.ReLU(True))
        if use_dropout:
            layers.append(nn.Dropout(0.5))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=use_bias), norm(dim)]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    """CycleGAN's generator: 7×7 conv, two stride-2 convs down, `n_blocks` residual blocks at
    4·ngf, two transposed convs up, a 7×7 conv to the output's channels and tanh."""

    def __init__(self, input_nc, output_nc, ngf=64, norm=None, use_dropout=False, n_blocks=6):
        super().__init__()
        norm = norm or norm_layer("batch")
        bias = _conv_bias(norm)
        layers = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, 7, bias=bias), norm(ngf)]
        layers.append(nn.ReLU(True))
        for i in range(2):
            c = ngf * 2**i
            layers += [nn.Conv2d(c, 2 * c, 3, stride=2, padding=1, bias=bias), norm(2 * c)]
            layers.append(nn.ReLU(True))
        for _ in range(n_blocks):
            layers.append(ResnetBlock(4 * ngf, norm, use_dropout, bias))
        for i in range(2):
            c = ngf * 2 ** (2 - i)
            up = nn.ConvTranspose2d(c, c // 2, 3, stride=2, padding=1, output_padding=1, bias=bias)
            layers += [up, norm(c // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x)


class UnetSkipConnectionBlock(nn.Module):
    """One level of the U: down, the level inside, up, and (but for the outermost) the level's
    input joined to its output along the channels."""

    def __init__(self, outer_nc, inner_nc, input_nc=None, submodule=None, outermost=False,
                 innermost=False, norm=None, use_dropout=False):
        super().__init__()
        self.outermost = outermost
        norm = norm or norm_layer("batch")
        bias = _conv_bias(norm)
        input_nc = outer_nc if input_nc is None else input_nc
        down = nn.Conv2d(input_nc, inner_nc, 4, stride=2, padding=1, bias=bias)
        # In place, as the reference's: the join below reads the rectified input.
        leaky = nn.LeakyReLU(0.2, True)
        if outermost:
            up = nn.ConvTranspose2d(2 * inner_nc, outer_nc, 4, stride=2, padding=1)
            layers = [down, submodule, nn.ReLU(True), up, nn.Tanh()]
        elif innermost:
            up = nn.ConvTranspose2d(inner_nc, outer_nc, 4, stride=2, padding=1, bias=bias)
            layers = [leaky, down, nn.ReLU(True), up, norm(outer_nc)]
        else:
            up = nn.ConvTranspose2d(2 * inner_nc, outer_nc, 4, stride=2, padding=1, bias=bias)
            layers = [leaky, down, norm(inner_nc), submodule, nn.ReLU(True), up, norm(outer_nc)]
            if use_dropout:
                layers.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)


class UnetGenerator(nn.Module):
    """pix2pix's generator: `num_downs` nested levels, the widths doubling from ngf to 8·ngf
    over the outer four and staying there; dropout in the 8·ngf levels between."""

    def __init__(self, input_nc, output_nc, num_downs, ngf=64, norm=None, use_dropout=False):
        super().__init__()
        norm = norm or norm_layer("batch")
        block = UnetSkipConnectionBlock(8 * ngf, 8 * ngf, norm=norm, innermost=True)
        for _ in range(num_downs - 5):
            block = UnetSkipConnectionBlock(8 * ngf, 8 * ngf, submodule=block, norm=norm,
                                            use_dropout=use_dropout)
        for mult in (4, 2, 1):
            block = UnetSkipConnectionBlock(mult * ngf, 2 * mult * ngf, submodule=block, norm=norm)
        self.model = UnetSkipConnectionBlock(output_nc, ngf, input_nc=input_nc, submodule=block,
                                             outermost=True, norm=norm)

    def forward(self, x):
        return self.model(x)


class NLayerDiscriminator(nn.Module):
    """The PatchGAN: 4×4 convs, `n_layers` of stride 2 (the first without a norm), one of
    stride 1, and a stride-1 conv to one channel of patch logits (no sigmoid: the loss takes
    logits)."""

    def __init__(self, input_nc, ndf=64, n_layers=3, norm=None):
        super().__init__()
        norm = norm or norm_layer("batch")
        bias = _conv_bias(norm)
        layers = [nn.Conv2d(input_nc, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers + 1):
            prev, mult = mult, min(2**n, 8)
            stride = 2 if n < n_layers else 1
            conv = nn.Conv2d(ndf * prev, ndf * mult, 4, stride=stride, padding=1, bias=bias)
            layers += [conv, norm(ndf * mult), nn.LeakyReLU(0.2, True)]
        layers.append(nn.Conv2d(ndf * mult, 1, 4, stride=1, padding=1))
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x)
