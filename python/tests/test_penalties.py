"""WGAN-GP's and R1's penalties in PyTorch: one step from a webgan checkpoint, drawing webgan's
interpolation weights, lands on webgan's own next step (the penalty's double backward, its
draws and its place in the D step), a penalised D (built without batch norm) loads strictly,
and what webgan cannot penalise is refused in a sentence.
"""

import unittest

import torch
from safetensors.torch import load_file

import webgan_torch
import test_dcgan_step
from test_checkpoints import webgan
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

    def test_penalised_critic_loads_strictly_without_batch_norm(self):
        out = self.tmp / "gp"
        webgan("train", "--data", str(self.zip), "--preset", "dcgan28", "--ngf", "4", "--ndf",
               "4", "--batch", "4", "--loss", "wgan-gp", "--k", "1", "--steps", "1", "--every",
               "0", "--quality-every", "0", "--out", str(out))
        path = out / "checkpoint.safetensors"
        loaded = webgan_torch.load(str(path))  # strict=True on every network
        d = loaded.networks["netD"]
        self.assertFalse(any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in d.modules()))
        names = sorted(k[len("netD."):] for k in load_file(str(path)) if k.startswith("netD."))
        self.assertEqual(names, ["main.0.weight", "main.2.weight", "main.5.bias", "main.5.weight"])
        self.assertEqual(loaded.config["loss"], "wgan-gp")
        # G keeps its batch norm.
        self.assertTrue(any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
                            for m in loaded.networks["netG"].modules()))

    def test_sagan_penalty_refused(self):
        c = {"preset": "sagan32", "nz": 8, "ngf": 8, "ndf": 8, "channels": 3, "classes": 0,
             "loss": "hinge", "r1": 10.0}
        with self.assertRaisesRegex(ValueError, "self-attention"):
            gan_networks(c)
        with self.assertRaisesRegex(UserError, "R1 penalises"):
            run(["--data", str(self.data), "--loss", "wgan", "--r1", "1", "--out",
                 str(self.tmp / "no")])


if __name__ == "__main__":
    unittest.main()
