"""A pix2pix or CycleGAN run of webgan continued in PyTorch, on one process or many under
torchrun: the reference's steps (as recipes.py writes them) with the networks wrapped in
DistributedDataParallel, the reference's jitter (a random crop of the run's size from the
images at their load size, a random flip; one for both images of a pair), its linear
learning-rate decay, CycleGAN's pools of past fakes (one per process, started from the
checkpoint's), and a checkpoint webgan resumes from.

The random numbers are PyTorch's (a DistributedSampler dealing the images out, torch's
generator for crops, flips, dropout and the pools), so a run continued here is equivalent to
webgan's, not the same draw for draw.
"""

import random

import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from . import checkpoint as ck
from .recipes import ImagePool, adam, gan_loss


def lr_factor(c, step):
    """The reference's linear policy: the full rate for n_epochs epochs, then falling to zero
    over n_epochs_decay + 1 (webgan's LinearDecay)."""
    epoch = step // max(c["epoch_steps"], 1)
    over = max(epoch + 1 - c["n_epochs"], 0)
    return max(1.0 - over / (c["n_epochs_decay"] + 1.0), 0.0)


def jitter(images, size, flip, partner=None):
    """A random `size` crop of each image (and the same of `partner`'s), flipped left to right
    at random unless `flip` is off; images in [−1, 1] as floats."""
    n, _, h, w = images.shape
    out, out2 = [], []
    for i in range(n):
        y = int(torch.randint(0, h - size + 1, ()))
        x = int(torch.randint(0, w - size + 1, ()))
        mirrored = flip and bool(torch.rand(()) < 0.5)
        for src, dst in ((images, out), (partner, out2)):
            if src is None:
                continue
            crop = src[i:i + 1, :, y:y + size, x:x + size]
            dst.append(crop.flip(3) if mirrored else crop)
    to_float = lambda t: torch.cat(t).float() / 127.5 - 1  # noqa: E731
    return to_float(out), (to_float(out2) if partner is not None else None)


class _Pair(nn.Module):
    """Several networks as one module, so that DistributedDataParallel sees one forward and one
    backward per update."""

    def __init__(self, nets, fn):
        super().__init__()
        self.nets = nn.ModuleList(nets)
        self.fn = fn

    def forward(self, *xs):
        return self.fn(*self.nets, *xs)


def _frozen(nets, frozen):
    for net in nets:
        net.requires_grad_(not frozen)


class Pix2PixDistributed:
    def __init__(self, c, nets, wrap):
        self.c = c
        self.g, self.d = nets["netG"], nets["netD"]
        self.g_dist = wrap(self.g)
        both = lambda d, fake, real: (d(fake), d(real))  # noqa: E731
        self.d_dist = wrap(_Pair([self.d], both))
        self.gan = gan_loss(c["gan_mode"])
        self.opt_g = adam(self.g.parameters(), c["g_optimizer"])
        self.opt_d = adam(self.d.parameters(), c["d_optimizer"])
        self.optimizers = {self.opt_g: ["netG"], self.opt_d: ["netD"]}

    def step(self, a, b):
        self.g.train()
        self.d.train()
        fake_b = self.g_dist(a)
        fake, real = self.d_dist(torch.cat([a, fake_b.detach()], 1), torch.cat([a, b], 1))
        loss_fake, loss_real = self.gan(fake, False), self.gan(real, True)
        self.opt_d.zero_grad(set_to_none=True)
        (0.5 * (loss_fake + loss_real)).backward()
        self.opt_d.step()
        _frozen([self.d], True)
        g_gan = self.gan(self.d(torch.cat([a, fake_b], 1)), True)
        g_l1 = nn.functional.l1_loss(fake_b, b) * self.c["lambda_L1"]
        self.opt_g.zero_grad(set_to_none=True)
        (g_gan + g_l1).backward()
        self.opt_g.step()
        _frozen([self.d], False)
        return {"G_GAN": g_gan.item(), "G_L1": g_l1.item(), "D_real": loss_real.item(),
                "D_fake": loss_fake.item()}

    def extra_state(self):
        return {}


class CycleGanDistributed:
    def __init__(self, c, nets, wrap, pools):
        self.c = c
        self.g_a, self.g_b = nets["netG_A"], nets["netG_B"]
        self.d_a, self.d_b = nets["netD_A"], nets["netD_B"]
        self.gan = gan_loss("lsgan")
        li = c["lambda_identity"]

        def generators(g_a, g_b, real_a, real_b):
            fake_b, fake_a = g_a(real_a), g_b(real_b)
            out = [fake_b, g_b(fake_b), fake_a, g_a(fake_a)]
            if li > 0:
                out += [g_a(real_b), g_b(real_a)]
            return out

        def discriminators(d_a, d_b, real_b, fake_b, real_a, fake_a):
            return d_a(real_b), d_a(fake_b), d_b(real_a), d_b(fake_a)

        self.g_dist = wrap(_Pair([self.g_a, self.g_b], generators))
        self.d_dist = wrap(_Pair([self.d_a, self.d_b], discriminators))
        g_params = list(self.g_a.parameters()) + list(self.g_b.parameters())
        d_params = list(self.d_a.parameters()) + list(self.d_b.parameters())
        self.opt_g = adam(g_params, c["g_optimizer"])
        self.opt_d = adam(d_params, c["d_optimizer"])
        self.optimizers = {self.opt_g: ["netG_A", "netG_B"], self.opt_d: ["netD_A", "netD_B"]}
        self.pool_a, self.pool_b = pools

    def step(self, real_a, real_b):
        for net in (self.g_a, self.g_b, self.d_a, self.d_b):
            net.train()
        la, lb, li = self.c["lambda_A"], self.c["lambda_B"], self.c["lambda_identity"]
        l1 = nn.functional.l1_loss
        out = self.g_dist(real_a, real_b)
        fake_b, rec_a, fake_a, rec_b = out[:4]
        _frozen([self.d_a, self.d_b], True)
        losses = {}
        if li > 0:
            losses["idt_A"] = l1(out[4], real_b) * lb * li
            losses["idt_B"] = l1(out[5], real_a) * la * li
        losses["G_A"] = self.gan(self.d_a(fake_b), True)
        losses["G_B"] = self.gan(self.d_b(fake_a), True)
        losses["cycle_A"] = l1(rec_a, real_a) * la
        losses["cycle_B"] = l1(rec_b, real_b) * lb
        self.opt_g.zero_grad(set_to_none=True)
        sum(losses.values()).backward()
        self.opt_g.step()
        _frozen([self.d_a, self.d_b], False)
        shown_b, shown_a = self.pool_b.query(fake_b), self.pool_a.query(fake_a)
        r_b, f_b, r_a, f_a = self.d_dist(real_b, shown_b.detach(), real_a, shown_a.detach())
        losses["D_A"] = 0.5 * (self.gan(r_b, True) + self.gan(f_b, False))
        losses["D_B"] = 0.5 * (self.gan(r_a, True) + self.gan(f_a, False))
        self.opt_d.zero_grad(set_to_none=True)
        (losses["D_A"] + losses["D_B"]).backward()
        self.opt_d.step()
        return {k: v.item() for k, v in losses.items()}

    def extra_state(self):
        """The pools as webgan keeps them: [pool_size, image] floats, filled from the front."""
        out = {}
        for name, pool in (("fake_A_pool", self.pool_a), ("fake_B_pool", self.pool_b)):
            size = self.c["pool_size"]
            if size == 0:
                continue
            c, s = self.c["input_nc" if name == "fake_A_pool" else "output_nc"], self.c["size"]
            flat = torch.zeros(size, c * s * s)
            for i, image in enumerate(pool.images):
                flat[i] = image.detach().reshape(-1).cpu()
            out[name] = flat.reshape(-1)
        return out


def pools_from(loaded, c, step, rank):
    """Each process's pools, started from the checkpoint's: the images stored so far (all
    pool_size once min(pool_size, step · batch) have been)."""
    pools = []
    for name, channels in (("fake_A_pool", c["input_nc"]), ("fake_B_pool", c["output_nc"])):
        pool = ImagePool(c["pool_size"], random.Random(int(c["seed"]) * 1_000_003 + rank + 7919 * step))
        key = f"state.{name}"
        if c["pool_size"] and key in loaded.tensors:
            stored = min(c["pool_size"], step * c["batch_size"])
            images = loaded.tensors[key].reshape(c["pool_size"], channels, c["size"], c["size"])
            pool.images = [images[i:i + 1].clone() for i in range(stored)]
        pools.append(pool)
    return pools


def train(a, loaded, data, world, rank, device, wrap, out, existing, say):
    """Runs a resumed image-to-image run from `loaded` to `a.steps`; rank 0 writes the
    checkpoint."""
    family, c = loaded.family, dict(loaded.config)
    if data.family != family or data.size != c["size"] or data.load_size != c["load_size"]:
        raise ValueError(
            f"{a.data} was exported for a {data.family} run at {data.size} (loaded at "
            f"{data.load_size}); export the zip again with --like {a.resume}")
    if c["batch_size"] % world:
        raise ValueError(f"{world} processes cannot share a batch of {c['batch_size']} (the "
                         f"run's): choose --nproc_per_node dividing it")
    for net in loaded.networks.values():
        net.to(device)
    step = loaded.step
    torch.manual_seed(int(c["seed"]) + 1_000_003 * rank + 7919 * step)
    if family == "pix2pix":
        recipe = Pix2PixDistributed(c, loaded.networks, wrap)
    else:
        recipe = CycleGanDistributed(c, loaded.networks, wrap, pools_from(loaded, c, step, rank))
    counters = loaded.tensors["state.counters"].tolist()
    for optimizer, names in recipe.optimizers.items():
        # Both of a pix2pix or CycleGAN run's Adams step once a step.
        ck.load_optimizer_state(loaded, optimizer, names, step)
    share = c["batch_size"] // world
    index = torch.arange(max(len(data.a), len(data.b)))
    sampler = DistributedSampler(TensorDataset(index), num_replicas=world, rank=rank,
                                 shuffle=True, seed=int(c["seed"]) + step, drop_last=False)
    loader = DataLoader(TensorDataset(index), batch_size=share, sampler=sampler, drop_last=False)

    def endless():
        epoch = 0
        while True:
            sampler.set_epoch(epoch)
            for (i,) in loader:
                if len(i) == share:
                    yield i
            epoch += 1

    batches = endless()
    base = {o: c["g_optimizer"]["lr"] if o is recipe.opt_g else c["d_optimizer"]["lr"]
            for o in recipe.optimizers}
    start = step

    def save():
        done = step - start
        # webgan's counters: the RNG advances once a step, each Adam steps once.
        new = [counters[0] + done, counters[1] + done, counters[2] + done]
        ck.save(str(existing), family, c, loaded.networks, recipe.optimizers, step, new,
                recipe.extra_state())

    say(f"{family} {c['size']}×{c['size']}, batch {c['batch_size']} over {world} "
        f"process{'es' if world > 1 else ''} on {device}, from step {step} to {a.steps}")
    while step < a.steps:
        for o, lr in base.items():
            for group in o.param_groups:
                group["lr"] = lr * lr_factor(c, step)
        i = next(batches)
        if family == "pix2pix":
            real_a, real_b = jitter(data.a[i], c["size"], not c["no_flip"], data.b[i])
        else:
            # Unaligned, as the reference's dataset: B at random.
            j = torch.randint(0, len(data.b), (len(i),))
            real_a, _ = jitter(data.a[i % len(data.a)], c["size"], not c["no_flip"])
            real_b, _ = jitter(data.b[j], c["size"], not c["no_flip"])
        losses = recipe.step(real_a.to(device), real_b.to(device))
        step += 1
        if not all(map(lambda v: v == v and abs(v) != float("inf"), losses.values())):
            raise ValueError(f"the losses became NaN at step {step}: nothing was written")
        if rank == 0 and a.every and step % a.every == 0:
            say(f"step {step}/{a.steps}: " + ", ".join(f"{k} {v:.4f}" for k, v in losses.items()))
        if rank == 0 and a.checkpoint_every and step % a.checkpoint_every == 0:
            save()
    return save, step
