"""DCGAN's alternating step in PyTorch, as webgan's `Dcgan` recipe takes it: k discriminator
updates, each on a real batch and on fakes from fresh z (and fresh classes, for a conditional
model), then one generator update through D in train mode (batch statistics) that moves neither
D's weights nor its running statistics; losses bce (non-saturating G), minimax, wgan (weight
clipping), wgan-gp (the gradient penalty) or hinge, and R1's penalty on the real batch; one-sided
label smoothing; Adam or SGD with momentum; DiffAugment on
everything D sees; the moving average of G's weights. For InfoGAN, G's input carries fresh
codes too, and λ times the mutual-information term (Q's cross-entropy on the categorical code
and ½ squared error on the continuous ones, for the codes the fakes were made from) joins D's
loss on the fakes and G's loss; Q's verdict on the real batch counts for nothing.

Under torchrun, G and D are each wrapped in DistributedDataParallel: each process draws its
share of the batch, gradients are averaged over all, and batch norm normalises over each
process's share (per replica, as DDP does unless the model is converted to SyncBatchNorm).
"""

import torch
from torch import nn
from torch.nn import functional as F

from . import diffaugment
from .dcgan import with_class_planes
from .infogan import info_loss, latent
from .presets import codes, penalty, r1_every

# webgan's augmented passes, each with its own stream: the real batch, the fakes D judges, the
# fakes G learns through.
REAL, FAKE_D, FAKE_G = 0, 1, 2


def d_losses(kind, smoothing):
    """(real loss, fake loss, G's loss), each a mean over the batch's logits."""
    if kind in ("bce", "minimax"):
        real = lambda l: F.binary_cross_entropy_with_logits(l, torch.full_like(l, 1 - smoothing))  # noqa: E731
        fake = lambda l: F.binary_cross_entropy_with_logits(l, torch.zeros_like(l))  # noqa: E731
        if kind == "bce":
            g = lambda l: F.softplus(-l).mean()  # noqa: E731  −log σ(l)
        else:
            g = lambda l: -F.softplus(l).mean()  # noqa: E731  log(1 − σ(l))
        return real, fake, g
    if kind in ("wgan", "wgan-gp"):
        return (lambda l: -l.mean()), (lambda l: l.mean()), (lambda l: -l.mean())
    if kind == "hinge":
        return (lambda l: F.relu(1 - l).mean()), (lambda l: F.relu(1 + l).mean()), (lambda l: -l.mean())
    raise ValueError(f"unknown loss '{kind}': choose bce, minimax, wgan, wgan-gp or hinge")


def optimizer(params, o):
    if o["kind"] == "adam":
        return torch.optim.Adam(params, lr=o["lr"], betas=(o["beta1"], o["beta2"]), eps=o["eps"],
                                weight_decay=o["weight_decay"])
    if o["kind"] == "sgd":
        return torch.optim.SGD(params, lr=o["lr"], momentum=o["momentum"],
                               weight_decay=o["weight_decay"])
    raise ValueError(f"unknown optimizer '{o['kind']}': choose adam or sgd")


class _DPair(nn.Module):
    """D on a real batch and on fakes in one call, so that DistributedDataParallel sees one
    forward and one backward per update (each half normalised by its own batch statistics, as
    webgan runs them); with a penalty, then D on the penalised images, whose input gradient
    (taken inside this forward, so that DDP's reducer sees only the one backward through it)
    makes the penalty, this process's share's mean."""

    def __init__(self, d, penalty=None):
        super().__init__()
        self.d, self.penalty = d, penalty

    def forward(self, real, real_classes, fake, fake_classes, mix=None, penalise=True):
        (real_logits, _), (fake_logits, fake_q) = (_heads(self.d(real, real_classes)),
                                                   _heads(self.d(fake, fake_classes)))
        if self.penalty is None or not penalise:
            return real_logits, fake_logits, None, fake_q
        # The images as D sees them, class planes and all: the gradient is D's whole input's.
        classes = self.d.classes
        x = with_class_planes(real, real_classes, classes)
        kind, weight = self.penalty
        if kind == "gp":
            # x̂ = t·real + (1 − t)·fake, t per sample.
            t = mix.reshape(-1, 1, 1, 1)
            x = t * x + (1 - t) * with_class_planes(fake, fake_classes, classes)
        x = x.detach().requires_grad_(True)
        # A train-mode pass like the others (one more spectral norm iteration, as webgan's
        # penalty pass); a penalised D has no batch norm whose statistics it could move.
        (grad,) = torch.autograd.grad(self.d.judge(x).sum(), x, create_graph=True)
        norms = grad.flatten(1).norm(dim=1)
        if kind == "gp":
            return real_logits, fake_logits, weight * ((norms - 1) ** 2).mean(), fake_q
        return real_logits, fake_logits, weight / 2 * (norms ** 2).mean(), fake_q


def _heads(out):
    """(logits, Q's output): InfoGAN's D gives both, the others' logits alone."""
    return out if isinstance(out, tuple) else (out, None)


class _FrozenStatistics:
    """Batch norm in train mode that neither uses nor moves its running statistics: what D is
    for G's update."""

    def __init__(self, net):
        self.norms = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]

    def __enter__(self):
        for m in self.norms:
            m.track_running_stats = False

    def __exit__(self, *exc):
        for m in self.norms:
            m.track_running_stats = True


class DcganStep:
    """One step of a DCGAN run's configuration `c` on `nets` (netG, netD, and netG_ema when
    the run keeps one). `wrap` makes a module distributed (DistributedDataParallel) or leaves
    it alone."""

    def __init__(self, c, nets, wrap=lambda m: m, step=0):
        self.c = c
        self.g, self.d = nets["netG"], nets["netD"]
        self.g_ema = nets.get("netG_ema")
        self.g_dist = wrap(self.g)
        self.penalty = penalty(c)
        self.d_dist = wrap(_DPair(self.d, self.penalty))
        # D updates so far, counted as webgan counts them for lazy R1 (step · k + j).
        self.r1_every = r1_every(c) if self.penalty and self.penalty[0] == "r1" else 1
        self.d_updates = step * c["d_steps"]
        self.opt_g = optimizer(self.g.parameters(), c["g_optimizer"])
        self.opt_d = optimizer(self.d.parameters(), c["d_optimizer"])
        self.real_loss, self.fake_loss, self.g_loss = d_losses(c["loss"], c["label_smoothing"])
        self.kinds = diffaugment.parse(c.get("augment") or "")
        self.d_statistics = _FrozenStatistics(self.d)
        self.codes = codes(c)
        # InfoGAN's (categorical, continuous) terms in the last G step, for the log.
        self.info = None

    def step(self, draws):
        """One alternating step with the random numbers of `draws` (see draws.py). Returns D's
        last loss and G's loss."""
        self.g.train()
        self.d.train()
        size = lambda x: (x.shape[2], x.shape[3])  # noqa: E731
        for _ in range(self.c["d_steps"]):
            images, real_classes = draws.real()
            real = images.float() / 127.5 - 1
            real = diffaugment.augment(real, self.kinds, self._params(draws, REAL, size(real)))
            z, fake_classes, drawn = self._latent(draws)
            with torch.no_grad():
                fake = self.g(z, fake_classes)
            fake = diffaugment.augment(fake, self.kinds, self._params(draws, FAKE_D, size(fake)))
            mix = self._mix(draws) if self.penalty and self.penalty[0] == "gp" else None
            lazy_turn = self.d_updates % self.r1_every == 0
            self.d_updates += 1
            real_logits, fake_logits, penalised, fake_q = self.d_dist(real, real_classes, fake,
                                                                      fake_classes, mix, lazy_turn)
            d_loss = self.real_loss(real_logits) + self.fake_loss(fake_logits)
            if penalised is not None:
                d_loss = d_loss + penalised
            # InfoGAN's term trains D's body and Q; the loss reported is D's own, as webgan's.
            info = self._info(fake_q, drawn) if drawn is not None else 0.0
            self.opt_d.zero_grad(set_to_none=True)
            (d_loss + info).backward()
            self.opt_d.step()
            if self.c["loss"] == "wgan":
                with torch.no_grad():
                    for p in self.d.parameters():
                        p.clamp_(-self.c["clip"], self.c["clip"])
        z, fake_classes, drawn = self._latent(draws)
        fake = self.g_dist(z, fake_classes)
        fake = diffaugment.augment(fake, self.kinds, self._params(draws, FAKE_G, size(fake)))
        self.d.requires_grad_(False)
        with self.d_statistics:
            logits, q = _heads(self.d(fake, fake_classes))
        g_loss = self.g_loss(logits)
        info = self._info(q, drawn) if drawn is not None else 0.0
        self.opt_g.zero_grad(set_to_none=True)
        (g_loss + info).backward()
        self.opt_g.step()
        self.d.requires_grad_(True)
        if self.g_ema is not None:
            beta = self.c["ema"]
            with torch.no_grad():
                for a, p in zip(self.g_ema.parameters(), self.g.parameters()):
                    a.mul_(beta).add_(p, alpha=1 - beta)
                for a, b in zip(self.g_ema.buffers(), self.g.buffers()):
                    a.copy_(b)
        return d_loss.item(), g_loss.item()

    def _latent(self, draws):
        """G's input, the fakes' classes, and InfoGAN's codes (values, continuous) drawn at
        the same step as z, which G's input then carries (None for the other models)."""
        z, classes = draws.latent()
        if self.codes == (0, 0):
            return z, classes, None
        values, continuous = draws.codes(*self.codes)
        return latent(z, values, continuous, self.codes[0]), classes, (values, continuous)

    def _info(self, q, drawn):
        """λ·(categorical + continuous) of Q's output for the codes drawn; the two terms are
        kept for the log (G's step's, the last taken)."""
        cat, cont = info_loss(q, *drawn, self.codes[0])
        self.info = (cat.item(), cont.item())
        return float(self.c.get("info_reg_coeff", 1.0)) * (cat + cont)

    def _mix(self, draws):
        """WGAN-GP's interpolation weights t = (e + 1)/2, e uniform in (−1, 1) per sample."""
        return (draws.mix() + 1) / 2

    def _params(self, draws, k, size):
        return draws.augment(k, *size) if self.kinds else None
