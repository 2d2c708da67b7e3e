"""pix2pix's and CycleGAN's training steps in PyTorch, as webgan's recipes take them (which are
the reference implementation's `optimize_parameters`): the same losses, weights, order of
updates and Adam settings, so that a step here costs what the same step costs a PyTorch user.
"""

import random

import torch
from torch import nn

from .checkpoint import networks_of


def gan_loss(mode):
    """The adversarial loss on D's logits: "vanilla" (BCE) or "lsgan" (squared error)."""
    if mode == "vanilla":
        loss = nn.BCEWithLogitsLoss()
    elif mode == "lsgan":
        loss = nn.MSELoss()
    else:
        raise ValueError(f"unknown gan mode '{mode}': choose vanilla or lsgan")
    return lambda logits, real: loss(logits, torch.full_like(logits, 1.0 if real else 0.0))


def adam(params, config):
    o = config
    return torch.optim.Adam(params, lr=o["lr"], betas=(o["beta1"], o["beta2"]), eps=o["eps"])


def _frozen(net, frozen):
    for p in net.parameters():
        p.requires_grad_(not frozen)


class ImagePool:
    """The reference's history of fakes: until `size` are kept, each fake is kept and shown;
    after, each is shown and kept in place of a random old one half the time, and the other
    half an old one is shown instead."""

    def __init__(self, size, rng):
        self.size, self.rng, self.images = size, rng, []

    def query(self, fakes):
        if self.size == 0:
            return fakes
        shown = []
        for image in fakes.detach():
            image = image.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(image.clone())
                shown.append(image)
            elif self.rng.random() > 0.5:
                i = self.rng.randrange(self.size)
                shown.append(self.images[i].clone())
                self.images[i] = image.clone()
            else:
                shown.append(image)
        return torch.cat(shown, 0)


class Pix2Pix:
    """G: A → B a U-Net, D a PatchGAN on (A, B) stacked; D learns from (A, G(A)) as fake and
    (A, B) as real, each half the loss; then G from D's verdict on its fakes and λ_L1·|G(A) − B|."""

    def __init__(self, config, nets=None):
        self.c = config
        nets = nets or networks_of("pix2pix", config)
        self.g, self.d = nets["netG"], nets["netD"]
        self.gan = gan_loss(config["gan_mode"])
        self.opt_g = adam(self.g.parameters(), config["g_optimizer"])
        self.opt_d = adam(self.d.parameters(), config["d_optimizer"])

    def step(self, real_a, real_b):
        self.g.train()
        self.d.train()
        fake_b = self.g(real_a)
        _frozen(self.d, False)
        self.opt_d.zero_grad()
        fake = self.gan(self.d(torch.cat([real_a, fake_b.detach()], 1)), False)
        real = self.gan(self.d(torch.cat([real_a, real_b], 1)), True)
        loss_d = 0.5 * (fake + real)
        loss_d.backward()
        self.opt_d.step()
        _frozen(self.d, True)
        self.opt_g.zero_grad()
        g_gan = self.gan(self.d(torch.cat([real_a, fake_b], 1)), True)
        g_l1 = nn.functional.l1_loss(fake_b, real_b) * self.c["lambda_L1"]
        (g_gan + g_l1).backward()
        self.opt_g.step()
        return {"G_GAN": g_gan.item(), "G_L1": g_l1.item(), "D_real": real.item(),
                "D_fake": fake.item()}


class CycleGan:
    """G_A: A → B and G_B: B → A with D_A judging B's side and D_B A's; the generators learn
    together from LSGAN's adversarial losses, the cycle losses (λ_A, λ_B) and the identity
    losses (λ_identity of them), then each D from real images and a pool of past fakes."""

    def __init__(self, config, nets=None, seed=1):
        self.c = config
        nets = nets or networks_of("cyclegan", config)
        self.g_a, self.g_b = nets["netG_A"], nets["netG_B"]
        self.d_a, self.d_b = nets["netD_A"], nets["netD_B"]
        self.gan = gan_loss("lsgan")
        g_params = list(self.g_a.parameters()) + list(self.g_b.parameters())
        d_params = list(self.d_a.parameters()) + list(self.d_b.parameters())
        self.opt_g = adam(g_params, config["g_optimizer"])
        self.opt_d = adam(d_params, config["d_optimizer"])
        rng = random.Random(seed)
        self.pool_a = ImagePool(config["pool_size"], rng)
        self.pool_b = ImagePool(config["pool_size"], rng)

    def _d_loss(self, d, real, fake):
        loss = 0.5 * (self.gan(d(real), True) + self.gan(d(fake.detach()), False))
        loss.backward()
        return loss

    def step(self, real_a, real_b):
        for net in (self.g_a, self.g_b, self.d_a, self.d_b):
            net.train()
        la, lb, li = self.c["lambda_A"], self.c["lambda_B"], self.c["lambda_identity"]
        l1 = nn.functional.l1_loss
        fake_b = self.g_a(real_a)
        rec_a = self.g_b(fake_b)
        fake_a = self.g_b(real_b)
        rec_b = self.g_a(fake_a)
        _frozen(self.d_a, True)
        _frozen(self.d_b, True)
        self.opt_g.zero_grad()
        losses = {}
        if li > 0:
            losses["idt_A"] = l1(self.g_a(real_b), real_b) * lb * li
            losses["idt_B"] = l1(self.g_b(real_a), real_a) * la * li
        losses["G_A"] = self.gan(self.d_a(fake_b), True)
        losses["G_B"] = self.gan(self.d_b(fake_a), True)
        losses["cycle_A"] = l1(rec_a, real_a) * la
        losses["cycle_B"] = l1(rec_b, real_b) * lb
        sum(losses.values()).backward()
        self.opt_g.step()
        _frozen(self.d_a, False)
        _frozen(self.d_b, False)
        self.opt_d.zero_grad()
        losses["D_A"] = self._d_loss(self.d_a, real_b, self.pool_b.query(fake_b))
        losses["D_B"] = self._d_loss(self.d_b, real_a, self.pool_a.query(fake_a))
        self.opt_d.step()
        return {k: v.item() for k, v in losses.items()}
