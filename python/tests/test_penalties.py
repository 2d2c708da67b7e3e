"""WGAN-GP's and R1's penalties in PyTorch: one step from a webgan checkpoint, drawing webgan's
interpolation weights, lands on webgan's own next step (the penalty's double backward, its
draws and its place in the D step), two processes' penalties average to the whole batch's, a
penalised D (built without batch norm) loads strictly, a WGAN-GP run goes to torchrun and back,
and what webgan cannot penalise is refused in a sentence.
"""

import os
import tempfile
import unittest

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel
from safetensors.torch import load_file

import webgan_torch
import test_dcgan_step
import test_torchrun
from test_checkpoints import webgan
from webgan_torch.gan import _DPair, d_losses
from webgan_torch.presets import gan_networks
from webgan_torch.train import UserError, run


class Penalties(test_dcgan_step.DcganSteps):
    # DcganSteps' own tests run in test_dcgan_step.py.
    test_conditional_bce_adam_with_average = None
    test_hinge_two_d_steps_sgd_uniform_augmented = None
    test_wgan_clipped_smoothed = None
    test_minimax_smoothed = None
    test_dcgan32_and_dcgan64_in_colour = None

    def test_wgan_gp_two_d_steps(self):
        self.twin("--unconditional", "--loss", "wgan-gp", "--k", "2")

    def test_r1_conditional_bce(self):
        self.twin("--r1", "5")

    def test_lazy_r1_two_d_steps(self):
        # The compared step (the second) runs D updates 2 and 3: R1 every third update penalises
        # update 3 alone, at three times its weight, as webgan counts updates across steps.
        self.twin("--unconditional", "--r1", "50", "--r1-every", "3", "--k", "2")

    def test_wgan_gp_conditional_augmented(self):
        # Interpolates of the images as D sees them: augmented, with their class planes.
        self.twin("--loss", "wgan-gp", "--k", "1", "--lambda-gp", "3",
                  "--augment", "color,translation,cutout")

    def test_r1_hinge_augmented(self):
        self.twin("--unconditional", "--loss", "hinge", "--r1", "10", "--augment", "translation")

    def test_penalised_critic_loads_strictly_without_batch_norm(self):
        out = self.tmp / "gp"
        webgan("train", "--data", str(self.zip), "--preset", "dcgan28", "--ngf", "4", "--ndf",
               "4", "--batch", "4", "--loss", "wgan-gp", "--k", "1", "--steps", "1", "--every",
               "0", "--quality-every", "0", "--out", str(out))
        path = out / "checkpoint.safetensors"
        loaded = webgan_torch.load(str(path))  # strict=True on every network
        d = loaded.networks["netD"]
        norms = torch.nn.modules.batchnorm._BatchNorm
        self.assertFalse(any(isinstance(m, norms) for m in d.modules()))
        names = sorted(k[len("netD."):] for k in load_file(str(path)) if k.startswith("netD."))
        self.assertEqual(names, ["main.0.weight", "main.2.weight", "main.5.bias", "main.5.weight"])
        self.assertEqual(loaded.config["loss"], "wgan-gp")
        # G keeps its batch norm.
        self.assertTrue(any(isinstance(m, norms) for m in loaded.networks["netG"].modules()))

    def test_wgan_gp_to_torchrun_and_back(self):
        run = self.tmp / "run"
        common = ["--ngf", "4", "--ndf", "4", "--every", "0", "--quality-every", "0", "--out",
                  str(run)]
        webgan("train", "--data", str(self.zip), "--preset", "dcgan28", "--batch", "8", "--loss",
               "wgan-gp", "--k", "2", "--steps", "1", *common)
        checkpoint = run / "checkpoint.safetensors"
        ok, said = test_torchrun.torch_train("--resume", str(checkpoint), "--data",
                                             str(self.data), "--steps", "3", "--every", "1",
                                             "--out", str(run))
        self.assertTrue(ok, said)
        self.assertIn("over 2 processes", said)
        after = webgan_torch.load(str(checkpoint))
        # k = 2: two D updates a step.
        self.assertEqual(after.tensors["state.counters"].tolist()[1:3], [6, 3])
        webgan("train", "--resume", str(checkpoint), "--data", str(self.zip), "--steps", "4",
               *common)
        self.assertEqual(webgan_torch.load(str(checkpoint)).step, 4)

    def test_sagan_penalty_refused(self):
        c = {"preset": "sagan32", "nz": 8, "ngf": 8, "ndf": 8, "channels": 3, "classes": 0,
             "loss": "hinge", "r1": 10.0}
        with self.assertRaisesRegex(ValueError, "self-attention"):
            gan_networks(c)
        with self.assertRaisesRegex(UserError, "R1 penalises"):
            run(["--data", str(self.data), "--loss", "wgan", "--r1", "1", "--out",
                 str(self.tmp / "no")])


def _critic_grads(kind, rank=0, world=1):
    """D's gradients from one D step's loss and penalty on this process's share of the batch
    (the same batch in every process: torch's generator seeded alike)."""
    g = torch.Generator().manual_seed(5)
    images = (torch.rand(2, 6, 1, 28, 28, generator=g) * 2 - 1).unbind(0)
    classes = torch.randint(0, 3, (2, 6), generator=g).unbind(0)
    mix = torch.rand(6, generator=g)
    torch.manual_seed(3)
    c = {"preset": "dcgan28", "nz": 4, "ngf": 4, "ndf": 4, "channels": 1, "classes": 3,
         "loss": "wgan-gp" if kind == "gp" else "bce", "r1": 5.0 if kind == "r1" else None}
    d = gan_networks(c)["netD"]
    pair = _DPair(d, (kind, 10.0 if kind == "gp" else 5.0))
    if world > 1:
        pair = DistributedDataParallel(pair)
    real_loss, fake_loss, _ = d_losses(c["loss"], 0.0)
    share = slice(rank * len(images) // world, (rank + 1) * len(images) // world)
    (real, fake), (rc, fc) = images, classes
    # The fourth is Q's output on the fakes (InfoGAN's), None for this critic.
    r, f, p, _ = pair(real[share], rc[share], fake[share], fc[share], mix[share])
    (real_loss(r) + fake_loss(f) + p).backward()
    return [q.grad.clone() for q in d.parameters()]


def _replica(rank, world, store, kind, out):
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world)
    grads = _critic_grads(kind, rank, world)
    if rank == 0:
        torch.save(grads, out)
    dist.destroy_process_group()


class DistributedPenalty(unittest.TestCase):
    def test_two_processes_average_to_the_whole_batch(self):
        # DDP averages the processes' gradients, each the gradient of its share's mean: the
        # penalty's mean over the whole batch, as webgan takes it.
        for kind in ("gp", "r1"):
            with self.subTest(kind=kind), tempfile.TemporaryDirectory() as tmp:
                whole = _critic_grads(kind)
                out = os.path.join(tmp, "grads.pt")
                mp.spawn(_replica, args=(2, os.path.join(tmp, "store"), kind, out), nprocs=2)
                for a, b in zip(torch.load(out), whole):
                    self.assertLess((a - b).abs().max().item(), 1e-6)


if __name__ == "__main__":
    unittest.main()
