"""webgan's image-to-image checkpoints load into the PyTorch modules with strict names and
shapes, and the PyTorch generators give webgan's translations on the same inputs.

Needs the `webgan` binary (WEBGAN, default target/debug/webgan) and a Vulkan adapter (lavapipe
is enough). Run from the repository root:
    PYTHONPATH=python python3 -m unittest discover -s python/tests
"""

import io
import os
import random
import subprocess
import tempfile
import unittest
import zipfile
from pathlib import Path

import torch
from PIL import Image
from safetensors.torch import load_file

import webgan_torch

ROOT = Path(__file__).resolve().parents[2]
WEBGAN = os.environ.get("WEBGAN", str(ROOT / "target" / "debug" / "webgan"))
# Both sides compute in f32; the kernels sum in other orders than PyTorch's.
TOLERANCE = 1e-4


def png(rng, side):
    """A picture with structure at every scale: a gradient, a disc, and noise."""
    img = Image.new("RGB", (side, side))
    cx, cy, r = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7), rng.uniform(0.1, 0.3)
    pixels = []
    for y in range(side):
        for x in range(side):
            inside = (x / side - cx) ** 2 + (y / side - cy) ** 2 < r * r
            base = (255 * x // side, 255 * y // side, 200 if inside else 40)
            pixels.append(tuple(min(255, max(0, v + rng.randint(-20, 20))) for v in base))
    img.putdata(pixels)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def write_zip(path, files):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)


def classes_zip(tmp, seed, per_class):
    """A zip of three class folders of 28-pixel pictures in `tmp`, and its images exported for
    dcgan28: (zip, dataset file)."""
    rng = random.Random(seed)
    files = {f"{k}/{i}.png": png(rng, 28) for k in ("a", "b", "c") for i in range(per_class)}
    path, data = tmp / "classes.zip", tmp / "data.safetensors"
    write_zip(path, files)
    webgan("export-dataset", "--data", str(path), "--preset", "dcgan28", "--out", str(data))
    return path, data


def webgan(*args):
    result = subprocess.run([WEBGAN, *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError(f"webgan {' '.join(args)} failed:\n{result.stderr}")


class Checkpoints(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.tmp = Path(self.dir.name)
        self.rng = random.Random(7)

    def tearDown(self):
        self.dir.cleanup()

    def translate(self, checkpoint, data, direction):
        out = self.tmp / f"translated-{direction}"
        tensors = self.tmp / f"translated-{direction}.safetensors"
        webgan("translate", "--checkpoint", str(checkpoint), "--data", str(data), "--out",
               str(out), "--direction", direction, "--tensors", str(tensors))
        return load_file(str(tensors))

    def assert_same(self, net, translated):
        with torch.no_grad():
            y = net(translated["input"])
        self.assertEqual(y.shape, translated["output"].shape)
        # Not a constant image, so that agreeing means something.
        self.assertGreater(translated["output"].std().item(), 1e-3)
        error = (y - translated["output"]).abs().max().item()
        self.assertLess(error, TOLERANCE, f"PyTorch and webgan differ by {error}")

    def test_pix2pix(self):
        # Batch norm, dropout (64 pixels: a U-Net of 6 levels, one with dropout) and a few
        # steps, so that running statistics and weights have moved from their starts.
        files = {}
        for i in range(6):
            files[f"A/{i}.png"] = png(self.rng, 72)
            files[f"B/{i}.png"] = png(self.rng, 72)
        data = self.tmp / "pairs.zip"
        write_zip(data, files)
        run = self.tmp / "run"
        webgan("train", "--family", "pix2pix", "--data", str(data), "--size", "64", "--ngf",
               "4", "--ndf", "4", "--batch", "2", "--steps", "3", "--every", "0", "--out",
               str(run))
        loaded = webgan_torch.load(str(run / "checkpoint.safetensors"))
        self.assertEqual((loaded.family, loaded.step), ("pix2pix", 3))
        self.assertEqual(set(loaded.networks), {"netG", "netD"})
        g = loaded.networks["netG"]
        self.assertEqual(g.model.model[1].model[2].num_batches_tracked.item(), 3)
        self.assert_same(g, self.translate(run / "checkpoint.safetensors", data, "AtoB"))
        # The names are strict: a U-Net one level shallower does not take these weights.
        other = webgan_torch.UnetGenerator(3, 3, 5, 4, webgan_torch.norm_layer("batch"))
        with self.assertRaises(RuntimeError):
            other.load_state_dict(g.state_dict(), strict=True)

    def test_cyclegan(self):
        files = {}
        for side in ("trainA", "trainB"):
            for i in range(3):
                files[f"{side}/{i}.png"] = png(self.rng, 36)
        data = self.tmp / "unpaired.zip"
        write_zip(data, files)
        run = self.tmp / "run"
        webgan("train", "--family", "cyclegan", "--data", str(data), "--size", "32", "--ngf",
               "4", "--ndf", "4", "--steps", "2", "--every", "0", "--out", str(run))
        loaded = webgan_torch.load(str(run / "checkpoint.safetensors"))
        self.assertEqual(loaded.family, "cyclegan")
        self.assertEqual(set(loaded.networks), {"netG_A", "netG_B", "netD_A", "netD_B"})
        checkpoint = run / "checkpoint.safetensors"
        self.assert_same(loaded.networks["netG_A"], self.translate(checkpoint, data, "AtoB"))
        self.assert_same(loaded.networks["netG_B"], self.translate(checkpoint, data, "BtoA"))

    def test_not_a_checkpoint(self):
        # A safetensors file webgan wrote, but not a checkpoint: translate's --tensors.
        files = {f"trainA/{i}.png": png(self.rng, 36) for i in range(2)}
        files.update({f"trainB/{i}.png": png(self.rng, 36) for i in range(2)})
        write_zip(self.tmp / "unpaired.zip", files)
        run = self.tmp / "run"
        webgan("train", "--family", "cyclegan", "--data", str(self.tmp / "unpaired.zip"),
               "--size", "32", "--ngf", "2", "--ndf", "2", "--steps", "1", "--out", str(run))
        tensors = self.translate(run / "checkpoint.safetensors", self.tmp / "unpaired.zip", "AtoB")
        self.assertIn("input", tensors)
        with self.assertRaisesRegex(ValueError, "is not a webgan checkpoint"):
            webgan_torch.load(str(self.tmp / "translated-AtoB.safetensors"))


if __name__ == "__main__":
    unittest.main()
