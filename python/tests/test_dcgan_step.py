"""One DCGAN step in PyTorch from a webgan checkpoint, drawing webgan's own batches, noise,
classes and augmentations (webgan_torch.draws.WebganDraws), lands on the weights, running
statistics and moving average webgan's next step writes: the same first-step gradients, losses,
optimizers and order of updates, for the losses, optimizers and options a run can take.
"""

import random
import shutil
import tempfile
import unittest
from pathlib import Path

import torch

import webgan_torch
from test_checkpoints import classes_zip, png, webgan, write_zip
from webgan_torch.data import load_dataset
from webgan_torch.draws import WebganDraws
from webgan_torch.gan import DcganStep

# An Adam step moves a weight by up to its lr, 2e-4; f32 sums in other orders than webgan's
# move the step a little.
WEIGHT_TOLERANCE = 2e-6


class DcganSteps(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.tmp = Path(self.dir.name)
        self.zip, self.data = classes_zip(self.tmp, 9, 5)

    def tearDown(self):
        self.dir.cleanup()

    def twin(self, *flags, preset="dcgan28", zip_path=None, data=None):
        zip_path, data = zip_path or self.zip, data or self.data
        common = ["--data", str(zip_path), "--preset", preset, "--ngf", "4", "--ndf", "4",
                  "--batch", "6", "--every", "0", "--quality-every", "0", *flags]
        first, second = self.tmp / "first", self.tmp / "second"
        webgan("train", *common, "--steps", "1", "--out", str(first))
        shutil.copytree(first, second)
        webgan("train", *common, "--steps", "2", "--resume",
               str(second / "checkpoint.safetensors"), "--out", str(second))
        before = webgan_torch.load(str(first / "checkpoint.safetensors"))
        after = webgan_torch.load(str(second / "checkpoint.safetensors"))
        start = {n: {k: v.clone() for k, v in net.state_dict().items()}
                 for n, net in before.networks.items()}
        c = before.config
        gan = DcganStep(c, before.networks, step=before.step)
        counters = before.tensors["state.counters"].tolist()
        webgan_torch.load_optimizer_state(before, gan.opt_d, ["netD"], counters[1])
        webgan_torch.load_optimizer_state(before, gan.opt_g, ["netG"], counters[2])
        draws = WebganDraws(load_dataset(data), c, 0, 1, counters[0], torch.device("cpu"))
        gan.step(draws)
        self.assertEqual(draws.counter, after.tensors["state.counters"][0].item())
        for name, net in before.networks.items():
            want = after.networks[name].state_dict()
            for key, value in net.state_dict().items():
                if key.endswith("num_batches_tracked"):
                    self.assertEqual(value.item(), want[key].item(), f"{name}.{key}")
                    continue
                error = (value - want[key]).abs().max().item()
                self.assertLess(error, WEIGHT_TOLERANCE, f"{name}.{key} differs by {error}")
        moved = max((v - start["netG"][k]).abs().max().item()
                    for k, v in before.networks["netG"].state_dict().items() if v.is_floating_point())
        self.assertGreater(moved, 1e-5, "the step moved nothing: the comparison would be empty")

    def test_conditional_bce_adam_with_average(self):
        self.twin("--ema", "0.9")

    def test_hinge_two_d_steps_sgd_uniform_augmented(self):
        self.twin("--unconditional", "--loss", "hinge", "--k", "2", "--optimizer", "sgd",
                  "--prior", "uniform", "--augment", "color,translation,cutout")

    def test_wgan_clipped_smoothed(self):
        self.twin("--loss", "wgan", "--label-smoothing", "0.1", "--lr-d", "5e-5", "--lr-g", "5e-5")

    def test_minimax_smoothed(self):
        self.twin("--loss", "minimax", "--label-smoothing", "0.2")

    def test_dcgan32_and_dcgan64_in_colour(self):
        rng = random.Random(4)
        for preset, side in (("dcgan32", 32), ("dcgan64", 64)):
            with self.subTest(preset=preset):
                zip_path = self.tmp / f"{preset}.zip"
                write_zip(zip_path, {f"{i}.png": png(rng, side) for i in range(7)})
                data = self.tmp / f"{preset}.safetensors"
                webgan("export-dataset", "--data", str(zip_path), "--preset", preset, "--out",
                       str(data))
                self.twin("--augment", "translation", preset=preset, zip_path=zip_path, data=data)
                for run in ("first", "second"):
                    shutil.rmtree(self.tmp / run)


if __name__ == "__main__":
    unittest.main()
