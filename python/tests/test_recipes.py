"""One training step of webgan equals one step of the PyTorch recipe from the same state.

webgan trains a step and writes a checkpoint; webgan_torch loads it (weights, batch-norm
statistics, Adam moments and step), takes one step on the same pair, and must land on the
weights webgan's next step writes. The steps are made deterministic: one pair (or one image per
domain) so every batch is that pair, no crop (--load-size = --size) and no flip, no dropout
(pix2pix at 32 pixels has no dropout level), and CycleGAN's pools not yet full (they show every
fake as it is until 50 are kept).
"""

import io
import random
import shutil
import tempfile
import unittest
from pathlib import Path

import torch
from PIL import Image

import webgan_torch
from webgan_torch.recipes import CycleGan, Pix2Pix

from test_checkpoints import png, webgan, write_zip

# One Adam step moves a weight by up to lr = 2e-4; the sums of f32 gradients in other orders
# than PyTorch's move the step's direction a little.
WEIGHT_TOLERANCE = 2e-6


def image(data):
    """A PNG as webgan's inputs take it: [1, c, h, w] in [−1, 1]."""
    img = Image.open(io.BytesIO(data)).convert("RGB")
    pixels = torch.tensor(list(img.getdata()), dtype=torch.float32)
    return (pixels / 127.5 - 1).reshape(1, img.height, img.width, 3).permute(0, 3, 1, 2)


def normalised_biases(net):
    """The biases of convs an InstanceNorm (without scale and shift) follows: the norm takes
    away whatever they add, so their gradient is zero, and both sides' Adam steps on them follow
    the rounding noise of a zero. They are left out of the comparison."""
    keys = set()
    for name, module in net.named_modules():
        if isinstance(module, torch.nn.Sequential):
            for i in range(len(module) - 1):
                conv, norm = module[i], module[i + 1]
                if isinstance(norm, torch.nn.InstanceNorm2d) and getattr(conv, "bias", None) is not None:
                    keys.add(f"{name}.{i}.bias" if name else f"{i}.bias")
    return keys


class Recipes(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.tmp = Path(self.dir.name)

    def tearDown(self):
        self.dir.cleanup()

    def two_steps(self, data, family, *flags):
        """webgan's checkpoints after one step and after two."""
        common = ["--family", family, "--data", str(data), "--size", "32", "--load-size", "32",
                  "--no-flip", "--ngf", "4", "--ndf", "4", "--every", "0", *flags]
        first, second = self.tmp / "first", self.tmp / "second"
        webgan("train", *common, "--steps", "1", "--out", str(first))
        shutil.copytree(first, second)
        webgan("train", *common, "--steps", "2", "--resume",
               str(second / "checkpoint.safetensors"), "--out", str(second))
        return (webgan_torch.load(str(first / "checkpoint.safetensors")),
                webgan_torch.load(str(second / "checkpoint.safetensors")))

    def assert_lands_on(self, before, after, names):
        for name in names:
            want = after.networks[name].state_dict()
            noise = normalised_biases(before.networks[name])
            for key, value in before.networks[name].state_dict().items():
                if key in noise:
                    continue
                if key.endswith("num_batches_tracked"):
                    self.assertEqual(value.item(), want[key].item(), f"{name}.{key}")
                    continue
                error = (value - want[key]).abs().max().item()
                self.assertLess(error, WEIGHT_TOLERANCE, f"{name}.{key} differs by {error}")

    def test_pix2pix_step(self):
        a, b = png(random.Random(3), 32), png(random.Random(4), 32)
        data = self.tmp / "pair.zip"
        write_zip(data, {"A/0.png": a, "B/0.png": b})
        first, second = self.two_steps(data, "pix2pix", "--batch", "1")
        start = {n: {k: v.clone() for k, v in net.state_dict().items()}
                 for n, net in first.networks.items()}
        recipe = Pix2Pix(first.config, first.networks)
        webgan_torch.load_adam_state(first, recipe.opt_g, ["netG"])
        webgan_torch.load_adam_state(first, recipe.opt_d, ["netD"])
        recipe.step(image(a), image(b))
        self.assert_lands_on(first, second, ["netG", "netD"])
        # And the step did something: the weights moved by about lr.
        moved = max((v - start["netG"][k]).abs().max().item()
                    for k, v in first.networks["netG"].state_dict().items()
                    if v.is_floating_point())
        self.assertGreater(moved, 1e-4)

    def test_cyclegan_step(self):
        a, b = png(random.Random(5), 32), png(random.Random(6), 32)
        data = self.tmp / "unpaired.zip"
        write_zip(data, {"trainA/0.png": a, "trainB/0.png": b})
        first, second = self.two_steps(data, "cyclegan")
        start = {k: v.clone() for k, v in first.networks["netG_A"].state_dict().items()}
        recipe = CycleGan(first.config, first.networks)
        # The pools hold the first step's fakes; they are not full, so they show each new fake.
        webgan_torch.load_adam_state(first, recipe.opt_g, ["netG_A", "netG_B"])
        webgan_torch.load_adam_state(first, recipe.opt_d, ["netD_A", "netD_B"])
        recipe.step(image(a), image(b))
        self.assert_lands_on(first, second, ["netG_A", "netG_B", "netD_A", "netD_B"])
        moved = max((v - start[k]).abs().max().item()
                    for k, v in first.networks["netG_A"].state_dict().items())
        self.assertGreater(moved, 1e-4)


if __name__ == "__main__":
    unittest.main()
