"""`webgan export --format onnx` writes every family's generator so that ONNX Runtime draws
`webgan sample`'s images from the same z (and classes), and `webgan translate`'s translations
of the same images, within 1e-4: every DCGAN preset, conditional and not, from the moving
average where a run keeps one, pix2pix's U-Net and both of CycleGAN's generators; at batch 1
and at batch 3 through the one free batch dimension.

Needs onnxruntime (build.sh's python_setup installs it from PyPI): without it this module fails
to import, and so the run fails; it does not skip.
"""

import random
import tempfile
import unittest
from pathlib import Path

import numpy as np
import onnxruntime as ort
from safetensors.numpy import load_file

from test_checkpoints import TOLERANCE, png, webgan, write_zip


class Onnx(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.tmp = Path(self.dir.name)
        self.rng = random.Random(13)

    def tearDown(self):
        self.dir.cleanup()

    def export(self, checkpoint, name, *flags):
        out = self.tmp / f"{name}.onnx"
        webgan("export", "--checkpoint", str(checkpoint), "--format", "onnx", "--out", str(out),
               *flags)
        session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
        for v in session.get_inputs() + session.get_outputs():
            self.assertEqual(v.shape[0], "batch", f"{name}: {v.name} has no free batch")
        return session

    def assert_matches(self, name, session, feeds, expected):
        """ONNX Runtime on all of `feeds` at once (batch 3) and on each alone (batch 1)."""
        self.assertEqual(len(expected), 3)
        # Not a constant image, so that agreeing means something.
        self.assertGreater(expected.std(), 1e-3)
        (y,) = session.run(["output"], feeds)
        self.assertEqual(y.shape, expected.shape)
        error = np.abs(y - expected).max()
        self.assertLess(error, TOLERANCE, f"{name}, batch 3: ONNX Runtime and webgan differ by {error}")
        for i in range(3):
            (one,) = session.run(["output"], {k: v[i:i + 1] for k, v in feeds.items()})
            error = np.abs(one[0] - expected[i]).max()
            self.assertLess(error, TOLERANCE, f"{name}, batch 1 (#{i}): differ by {error}")

    def dcgan(self, name, *train_flags):
        run = self.tmp / name
        webgan("train", "--ngf", "4", "--ndf", "4", "--batch", "8", "--steps", "2", "--every",
               "0", "--quality-every", "0", "--out", str(run), *train_flags)
        checkpoint = run / "checkpoint.safetensors"
        tensors = self.tmp / f"{name}.safetensors"
        webgan("sample", "--checkpoint", str(checkpoint), "--n", "3", "--out",
               str(self.tmp / f"{name}-samples"), "--tensors", str(tensors))
        sampled = load_file(str(tensors))
        session = self.export(checkpoint, name)
        feeds = {"z": sampled["z"]}
        if "classes" in sampled:
            feeds["class"] = sampled["classes"].astype(np.int64)
        self.assertEqual({i.name for i in session.get_inputs()}, set(feeds))
        self.assert_matches(name, session, feeds, sampled["images"])

    def translation(self, name, checkpoint, side, direction):
        # A flat zip of three pictures: translate reads them all, in order.
        data = self.tmp / f"{name}-inputs.zip"
        write_zip(data, {f"{i}.png": png(self.rng, side) for i in range(3)})
        tensors = self.tmp / f"{name}.safetensors"
        webgan("translate", "--checkpoint", str(checkpoint), "--data", str(data), "--out",
               str(self.tmp / f"{name}-out"), "--direction", direction, "--tensors", str(tensors))
        translated = load_file(str(tensors))
        session = self.export(checkpoint, name, "--direction", direction)
        self.assertEqual([i.name for i in session.get_inputs()], ["image"])
        self.assert_matches(name, session, {"image": translated["input"]}, translated["output"])

    def test_dcgan28_conditional(self):
        self.dcgan("d28")

    def test_dcgan28_moving_average(self):
        self.dcgan("d28ema", "--unconditional", "--ema", "0.9")

    def test_dcgan32_classes(self):
        files = {f"{k}/{i}.png": png(self.rng, 32) for k in ("cats", "dogs", "owls") for i in range(4)}
        write_zip(self.tmp / "classes.zip", files)
        self.dcgan("d32", "--data", str(self.tmp / "classes.zip"), "--preset", "dcgan32")

    def test_dcgan64(self):
        write_zip(self.tmp / "flat.zip", {f"{i}.png": png(self.rng, 64) for i in range(10)})
        self.dcgan("d64", "--data", str(self.tmp / "flat.zip"), "--preset", "dcgan64")

    def test_pix2pix(self):
        # 64 pixels: a U-Net of 6 levels, one with dropout (off in eval, as translate runs it),
        # and batch norm's running statistics moved by a few steps.
        files = {}
        for i in range(4):
            files[f"A/{i}.png"] = png(self.rng, 64)
            files[f"B/{i}.png"] = png(self.rng, 64)
        write_zip(self.tmp / "pairs.zip", files)
        run = self.tmp / "p2p"
        webgan("train", "--family", "pix2pix", "--data", str(self.tmp / "pairs.zip"), "--size",
               "64", "--ngf", "4", "--ndf", "4", "--batch", "2", "--steps", "3", "--every", "0",
               "--out", str(run))
        self.translation("p2p", run / "checkpoint.safetensors", 64, "AtoB")

    def test_cyclegan_both_directions(self):
        files = {f"{side}/{i}.png": png(self.rng, 32) for side in ("trainA", "trainB")
                 for i in range(3)}
        write_zip(self.tmp / "unpaired.zip", files)
        run = self.tmp / "cycle"
        webgan("train", "--family", "cyclegan", "--data", str(self.tmp / "unpaired.zip"),
               "--size", "32", "--ngf", "4", "--ndf", "4", "--steps", "2", "--every", "0",
               "--out", str(run))
        checkpoint = run / "checkpoint.safetensors"
        self.translation("cycle-AtoB", checkpoint, 32, "AtoB")
        self.translation("cycle-BtoA", checkpoint, 32, "BtoA")


if __name__ == "__main__":
    unittest.main()
