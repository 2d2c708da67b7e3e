"""webgan's DCGAN checkpoints load into webgan_torch's modules with strict names and shapes,
and PyTorch's generator draws `webgan sample`'s images from the same z (and classes) within
1e-4, for every preset, conditional and not, and from the moving average where a run keeps one.
"""

import random
import tempfile
import unittest
from pathlib import Path

import torch
from safetensors import safe_open

import webgan_torch
from test_checkpoints import TOLERANCE, png, webgan, write_zip


class Dcgan(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.tmp = Path(self.dir.name)
        self.rng = random.Random(11)

    def tearDown(self):
        self.dir.cleanup()

    def check(self, name, *train_flags, net="netG"):
        run = self.tmp / name
        webgan("train", "--ngf", "4", "--ndf", "4", "--batch", "8", "--steps", "2", "--every",
               "0", "--quality-every", "0", "--out", str(run), *train_flags)
        checkpoint = str(run / "checkpoint.safetensors")
        loaded = webgan_torch.load(checkpoint)
        self.assertEqual((loaded.family, loaded.step), ("dcgan", 2))
        tensors = self.tmp / f"{name}.safetensors"
        webgan("sample", "--checkpoint", checkpoint, "--n", "6", "--out", str(self.tmp / name / "s"),
               "--tensors", str(tensors))
        with safe_open(str(tensors), "pt") as f:
            z, images = f.get_tensor("z"), f.get_tensor("images")
            classes = f.get_tensor("classes") if "classes" in f.keys() else None
        self.assertEqual(classes is not None, loaded.config["classes"] > 0)
        with torch.no_grad():
            y = loaded.networks[net](z, classes)
        self.assertEqual(y.shape, images.shape)
        self.assertGreater(images.std().item(), 1e-3)
        error = (y - images).abs().max().item()
        self.assertLess(error, TOLERANCE, f"{name}: PyTorch and webgan differ by {error}")
        # D takes the images (and classes) to one logit each.
        with torch.no_grad():
            self.assertEqual(loaded.networks["netD"](images, classes).shape, (6,))
        return loaded

    def test_dcgan28_digits_conditional(self):
        loaded = self.check("d28")
        self.assertEqual(loaded.config["classes"], 10)

    def test_dcgan28_unconditional_with_average(self):
        self.check("d28u", "--unconditional", "--ema", "0.9", net="netG_ema")

    def test_dcgan32_classes(self):
        files = {f"{k}/{i}.png": png(self.rng, 32) for k in ("cats", "dogs", "owls") for i in range(4)}
        write_zip(self.tmp / "classes.zip", files)
        loaded = self.check("d32", "--data", str(self.tmp / "classes.zip"), "--preset", "dcgan32")
        self.assertEqual((loaded.config["classes"], loaded.config["channels"]), (3, 3))

    def test_dcgan64(self):
        write_zip(self.tmp / "flat.zip", {f"{i}.png": png(self.rng, 64) for i in range(10)})
        self.check("d64", "--data", str(self.tmp / "flat.zip"), "--preset", "dcgan64")


if __name__ == "__main__":
    unittest.main()
