"""webgan's DCGAN presets as torch.nn modules, `main.{i}` numbered as webgan's checkpoints name
them (for dcgan64, exactly PyTorch's examples/dcgan netG and netD, but for D's final sigmoid,
which webgan leaves to the loss).

Conditional models (classes > 0) append a one-hot class vector to z, and one-hot class planes
to the image D judges, in that order.
"""

import torch
from torch import nn

from .networks import BatchNorm2d, WebganRunningStats

PRESETS = {"dcgan28": 28, "dcgan32": 32, "dcgan64": 64}


class BatchNorm1d(WebganRunningStats, nn.BatchNorm1d):
    """Batch norm over a dense layer's features, with webgan's running statistics."""


class Dense(nn.Linear):
    """nn.Linear on its input flattened: webgan's dense layers take [n, c, h, w] as [n, c·h·w]."""

    def forward(self, x):
        return super().forward(x.flatten(1))


def _up(cin, cout, stride=2, padding=1):
    return nn.ConvTranspose2d(cin, cout, 4, stride, padding, bias=False)


def _down(cin, cout, stride=2, padding=1):
    return nn.Conv2d(cin, cout, 4, stride, padding, bias=False)


def _layers(preset, nz, ngf, ndf, channels, classes, penalised=False):
    """(G's layers, D's layers), as `ModelConfig::build_for` in src/model/presets.rs lists them:
    D without its batch norm when its input gradient is penalised (each sample's gradient
    would depend on the others'), the later layers taking the freed `main.{i}` indices."""
    z, c, image_in = nz + classes, channels, channels + classes
    lrelu = lambda: nn.LeakyReLU(0.2, True)  # noqa: E731
    if preset == "dcgan28":
        g = [Dense(z, 2 * ngf * 49, bias=False), BatchNorm1d(2 * ngf * 49), nn.ReLU(True),
             nn.Unflatten(1, (2 * ngf, 7, 7)),
             _up(2 * ngf, ngf), BatchNorm2d(ngf), nn.ReLU(True),
             _up(ngf, c), nn.Tanh()]
        d = [_down(image_in, ndf), lrelu(),
             _down(ndf, 2 * ndf), BatchNorm2d(2 * ndf), lrelu(),
             nn.Flatten(1),
             nn.Linear(2 * ndf * 49, 1)]
        return g, _without_norm(d) if penalised else d
    widths = {"dcgan32": [4, 2, 1], "dcgan64": [8, 4, 2, 1]}[preset]
    g = [_up(z, widths[0] * ngf, 1, 0), BatchNorm2d(widths[0] * ngf), nn.ReLU(True)]
    for a, b in zip(widths, widths[1:]):
        g += [_up(a * ngf, b * ngf), BatchNorm2d(b * ngf), nn.ReLU(True)]
    g += [_up(ngf, c), nn.Tanh()]
    d = [_down(image_in, ndf), lrelu()]
    for a, b in zip(widths[::-1], widths[::-1][1:]):
        d += [_down(a * ndf, b * ndf), BatchNorm2d(b * ndf), lrelu()]
    d.append(_down(widths[0] * ndf, 1, 1, 0))
    return g, _without_norm(d) if penalised else d


def _without_norm(layers):
    return [m for m in layers if not isinstance(m, nn.modules.batchnorm._BatchNorm)]


def with_class_vector(z, classes, nz, n_classes):
    """z as [n, nz, 1, 1], with a conditional model's one-hot classes appended to its channels."""
    z = z.reshape(z.shape[0], nz, 1, 1)
    if not n_classes:
        return z
    if classes is None:
        raise ValueError(f"this generator is conditional: give a class (0 to {n_classes - 1}) per image")
    onehot = nn.functional.one_hot(classes.long(), n_classes).to(z.dtype)
    return torch.cat([z, onehot[:, :, None, None]], 1)


def with_class_planes(x, classes, n_classes):
    """Images with a conditional model's classes appended as one-hot planes."""
    if not n_classes:
        return x
    if classes is None:
        raise ValueError("this discriminator is conditional: give a class per image")
    onehot = nn.functional.one_hot(classes.long(), n_classes).to(x.dtype)
    planes = onehot[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
    return torch.cat([x, planes], 1)


class Generator(nn.Module):
    """z ([n, nz] or [n, nz, 1, 1]) and, for a conditional model, classes ([n] integers) to
    images in [−1, 1]."""

    def __init__(self, layers, nz, classes):
        super().__init__()
        self.main = nn.Sequential(*layers)
        self.nz, self.classes = nz, classes

    def forward(self, z, classes=None):
        return self.main(with_class_vector(z, classes, self.nz, self.classes))


class Discriminator(nn.Module):
    """Images (and, for a conditional model, their classes) to one logit each."""

    def __init__(self, layers, classes):
        super().__init__()
        self.main = nn.Sequential(*layers)
        self.classes = classes

    def forward(self, x, classes=None):
        return self.judge(with_class_planes(x, classes, self.classes))

    def judge(self, x):
        """The logits of images that carry their class planes already (D's whole input, which
        a gradient penalty differentiates by)."""
        return self.main(x).reshape(x.shape[0])


def dcgan_networks(config, penalised=False):
    """netG and netD (and netG_ema where the run keeps one) of a DCGAN run's configuration
    (webgan's JSON: preset, nz, ngf, ndf, channels, classes, ema); D without batch norm when
    `penalised` (WGAN-GP, R1)."""
    preset = config["preset"]
    if preset not in PRESETS:
        raise ValueError(f"unknown preset '{preset}': choose {', '.join(PRESETS)}")
    nz, classes = config["nz"], config["classes"]
    layers = lambda: _layers(preset, nz, config["ngf"], config["ndf"], config["channels"], classes,  # noqa: E731
                             penalised)
    g, d = layers()
    nets = {"netG": Generator(g, nz, classes), "netD": Discriminator(d, classes)}
    if config.get("ema") is not None:
        # The moving average of G's weights, which samples are drawn from.
        nets["netG_ema"] = Generator(layers()[0], nz, classes)
    return nets
