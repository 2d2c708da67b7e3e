"""webgan's InfoGAN preset (infogan28) as torch.nn modules: the MNIST networks of the reference
implementation, openai/InfoGAN's `regularized_gan.py`, named as webgan's checkpoints name them
(G `main.{i}`; D's body `main.{i}`, its logit `head`, and Q `q.{i}`, which shares D's body).

G's input holds, per sample, the noise (nz values), the categorical code one-hot (`categorical`
values) and the continuous codes (`continuous`, each in (−1, 1)), in that order. Q predicts the
codes: the categorical code's logits, then each continuous code's mean (its deviation fixed at
1, the reference's `fix_std`).
"""

import torch
from torch import nn
from torch.nn import functional as F

from .dcgan import BatchNorm1d
from .networks import BatchNorm2d

PRESETS = {"infogan28": 28}

# The reference's leaky ReLU slope (`leaky_rectify`'s leakiness).
LEAKINESS = 0.01


class Generator(nn.Module):
    """Latents ([n, nz + categorical + continuous], or with two trailing 1s) to images in
    [−1, 1]. Widths as the reference's at ngf 64: 1024 (16·ngf) features, then 128 (2·ngf)
    channels of 7×7."""

    def __init__(self, latent, ngf, channels):
        super().__init__()
        self.main = nn.Sequential(
            nn.Linear(latent, 16 * ngf), BatchNorm1d(16 * ngf), nn.ReLU(True),
            nn.Linear(16 * ngf, 2 * ngf * 49), BatchNorm1d(2 * ngf * 49), nn.ReLU(True),
            nn.Unflatten(1, (2 * ngf, 7, 7)),
            # state size. (ngf*2) x 7 x 7
            nn.ConvTranspose2d(2 * ngf, ngf, 4, 2, 1), BatchNorm2d(ngf), nn.ReLU(True),
            # state size. ngf x 14 x 14
            nn.ConvTranspose2d(ngf, channels, 4, 2, 1), nn.Tanh(),
            # state size. channels x 28 x 28
        )

    def forward(self, z, classes=None):
        if classes is not None:
            raise ValueError("InfoGAN's generator takes no classes: its codes are part of z")
        return self.main(z.flatten(1))


class Discriminator(nn.Module):
    """Images to (D's logit [n], Q's output [n, categorical + continuous]). Widths as the
    reference's at ndf 64: 64 and 128 channels, 1024 (16·ndf) features, Q's hidden layer 128
    (2·ndf)."""

    def __init__(self, channels, ndf, categorical, continuous):
        super().__init__()
        lrelu = lambda: nn.LeakyReLU(LEAKINESS)  # noqa: E731
        self.main = nn.Sequential(
            nn.Conv2d(channels, ndf, 4, 2, 1), lrelu(),
            # state size. ndf x 14 x 14
            nn.Conv2d(ndf, 2 * ndf, 4, 2, 1), BatchNorm2d(2 * ndf), lrelu(),
            # state size. (ndf*2) x 7 x 7
            nn.Flatten(1),
            nn.Linear(2 * ndf * 49, 16 * ndf), BatchNorm1d(16 * ndf), lrelu(),
        )
        self.head = nn.Linear(16 * ndf, 1)
        self.q = nn.Sequential(
            nn.Linear(16 * ndf, 2 * ndf), BatchNorm1d(2 * ndf), lrelu(),
            nn.Linear(2 * ndf, categorical + continuous),
        )

    def forward(self, x, classes=None):
        if classes is not None:
            raise ValueError("InfoGAN's discriminator takes no classes")
        h = self.main(x)
        return self.head(h).reshape(x.shape[0]), self.q(h)


def latent(z, values, continuous, categorical):
    """G's input: each sample's noise, its categorical value one-hot, its continuous codes."""
    parts = [z.reshape(z.shape[0], -1)]
    if categorical:
        parts.append(F.one_hot(values.long(), categorical).to(z.dtype))
    if continuous is not None and continuous.shape[1]:
        parts.append(continuous.to(z.dtype))
    return torch.cat(parts, 1)


def info_loss(q, values, continuous, categorical):
    """(mean cross-entropy of the categorical code under Q's logits, mean over the batch of
    Σ_j ½(c_j − μ_j)²): the mutual-information term's two parts, a Gaussian's negative log
    likelihood of deviation 1 less its constant."""
    zero = q.new_zeros(())
    cat = F.cross_entropy(q[:, :categorical], values.long()) if categorical else zero
    means = q[:, categorical:]
    cont = 0.5 * ((means - continuous) ** 2).sum(1).mean() if means.shape[1] else zero
    return cat, cont


def codes_of(config):
    """(categorical values, continuous codes) of an InfoGAN run's configuration; the MNIST
    codes (10, 2) where it leaves them out, as webgan reads it."""
    k, m = config.get("categorical"), config.get("continuous")
    return int(10 if k is None else k), int(2 if m is None else m)


def check_codes(categorical, continuous):
    """As webgan's `Codes::check`: a categorical code of 2 to 100 values (0: none), at most 16
    continuous codes, and at least one code."""
    if categorical == 1 or not 0 <= categorical <= 100:
        raise ValueError(f"a categorical code takes from 2 to 100 values (0 for none), not "
                         f"{categorical}")
    if not 0 <= continuous <= 16:
        raise ValueError(f"InfoGAN takes at most 16 continuous codes, not {continuous}")
    if categorical + continuous == 0:
        raise ValueError("InfoGAN needs at least one code: a categorical one (--categorical) or "
                         "continuous ones (--continuous)")


def infogan_networks(config):
    """netG and netD (and netG_ema where the run keeps one) of an InfoGAN run's configuration
    (webgan's JSON: preset, nz, ngf, ndf, channels, categorical, continuous, ema)."""
    preset = config["preset"]
    if preset not in PRESETS:
        raise ValueError(f"unknown preset '{preset}': choose {', '.join(PRESETS)}")
    if config.get("classes"):
        raise ValueError("InfoGAN learns its codes without labels: it cannot be conditional")
    k, m = codes_of(config)
    check_codes(k, m)
    g = lambda: Generator(config["nz"] + k + m, config["ngf"], config["channels"])  # noqa: E731
    nets = {"netG": g(), "netD": Discriminator(config["channels"], config["ndf"], k, m)}
    if config.get("ema") is not None:
        # The moving average of G's weights, which samples are drawn from.
        nets["netG_ema"] = g()
    return nets
