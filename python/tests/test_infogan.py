"""webgan's InfoGAN (infogan28) in PyTorch: its checkpoints load into webgan_torch's modules with
strict names and shapes, and PyTorch's G draws `webgan sample`'s images from the z (codes
included) that webgan wrote; one PyTorch step from a webgan checkpoint, drawing webgan's noise
and codes, lands on webgan's next step (weights, running statistics, Q's terms); and a run
goes from webgan to torchrun (two processes, gloo) and back, and starts in PyTorch with the
recipe webgan starts it with.

The networks are tiny (ngf = ndf = 4, batch 8) and every test shares one pair of webgan runs
on the built-in digits, made once.
"""

import csv
import json
import shutil
import tempfile
import unittest
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

import webgan_torch
from test_checkpoints import webgan
from test_dcgan_step import WEIGHT_TOLERANCE
from test_sagan import same_config
from test_torchrun import torch_train
from webgan_torch.data import load_dataset
from webgan_torch.draws import WebganDraws
from webgan_torch.gan import DcganStep

TINY = ["--ngf", "4", "--ndf", "4", "--batch", "8"]
QUIET = ["--every", "0", "--quality-every", "0"]
# PyTorch's G against webgan's kernels, both in f32, on the same z.
SAMPLE_TOLERANCE = 1e-5
# The biases batch norm follows: the norm takes their mean away, so their gradient is 0 but for
# rounding, which Adam (dividing by its root mean square) turns into steps of about a learning
# rate, different on either side. Their weights are left out of the comparison.
BEFORE_NORM = {"netG": {"main.0.bias", "main.3.bias", "main.7.bias"},
               "netD": {"main.2.bias", "main.6.bias", "q.0.bias"}}


def metrics(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


class Infogan(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        tmp = cls.tmp = Path(cls.dir.name)
        cls.data = tmp / "digits.safetensors"
        webgan("export-dataset", "--preset", "infogan28", "--out", str(cls.data))
        # InfoGAN's defaults (Adam, D 2e-4, G 1e-3, uniform noise of 62, 10 + 2 codes, λ 1).
        webgan("train", "--preset", "infogan28", *TINY, *QUIET, "--steps", "1", "--out",
               str(tmp / "first"))
        shutil.copytree(tmp / "first", tmp / "second")
        webgan("train", "--resume", str(tmp / "second" / "checkpoint.safetensors"), "--steps",
               "2", "--every", "1", "--quality-every", "0", "--out", str(tmp / "second"))

    @classmethod
    def tearDownClass(cls):
        cls.dir.cleanup()

    def checkpoint(self, run):
        return self.tmp / run / "checkpoint.safetensors"

    def assert_samples_agree(self, checkpoint, net, *flags):
        """`webgan sample --tensors` on `checkpoint`, and PyTorch's `net` on the z it wrote."""
        tensors = self.tmp / "samples.safetensors"
        webgan("sample", "--checkpoint", str(checkpoint), "--n", "6", "--out",
               str(self.tmp / "samples"), "--tensors", str(tensors), *flags)
        loaded = webgan_torch.load(str(checkpoint))
        with safe_open(str(tensors), "pt") as f:
            self.assertNotIn("classes", f.keys())
            z, images = f.get_tensor("z"), f.get_tensor("images")
        c = loaded.config
        self.assertEqual(z.shape, (6, c["nz"] + c["categorical"] + c["continuous"]))
        g = loaded.networks[net]
        self.assertFalse(g.training)
        with torch.no_grad():
            y = g(z)
            logits, q = loaded.networks["netD"](images)
        self.assertGreater(images.std().item(), 1e-3)
        error = (y - images).abs().max().item()
        self.assertLess(error, SAMPLE_TOLERANCE, f"PyTorch and webgan differ by {error}")
        self.assertEqual((logits.shape, q.shape), ((6,), (6, c["categorical"] + c["continuous"])))
        return z

    def test_loads_strictly_and_samples_as_webgan(self):
        first = self.checkpoint("first")
        loaded = webgan_torch.load(str(first))
        self.assertEqual((loaded.family, loaded.step, loaded.config["preset"]),
                         ("dcgan", 1, "infogan28"))
        self.assertEqual((loaded.config["categorical"], loaded.config["continuous"],
                          loaded.config["classes"]), (10, 2, 0))
        # The reference's layout at ngf = ndf = 4: G's 16·ngf and 2·ngf·49 features, D's
        # 16·ndf, Q's hidden 2·ndf and its 12 outputs.
        g, d = loaded.networks["netG"].state_dict(), loaded.networks["netD"].state_dict()
        self.assertEqual(g["main.0.weight"].shape, (64, 74))
        self.assertEqual(g["main.3.weight"].shape, (8 * 49, 64))
        self.assertEqual(d["main.6.weight"].shape, (64, 8 * 49))
        self.assertEqual((d["head.weight"].shape, d["q.3.weight"].shape), ((1, 64), (12, 8)))
        z = self.assert_samples_agree(first, "netG", "--code", "k=3")
        self.assertTrue(torch.all(z[:, 62 + 3] == 1) and torch.all(z[:, 62:72].sum(1) == 1))
        # Strict: a checkpoint without one of Q's tensors is refused.
        with safe_open(str(first), "pt") as f:
            meta, kept = f.metadata(), {k: f.get_tensor(k) for k in f.keys() if k != "netD.q.3.bias"}
        partial = self.tmp / "partial.safetensors"
        save_file(kept, str(partial), metadata=meta)
        with self.assertRaisesRegex(RuntimeError, "q.3.bias"):
            webgan_torch.load(str(partial))

    def test_one_step_lands_on_webgans(self):
        before = webgan_torch.load(str(self.checkpoint("first")))
        after = webgan_torch.load(str(self.checkpoint("second")))
        c = before.config
        gan = DcganStep(c, before.networks)
        counters = before.tensors["state.counters"].tolist()
        webgan_torch.load_optimizer_state(before, gan.opt_d, ["netD"], counters[1])
        webgan_torch.load_optimizer_state(before, gan.opt_g, ["netG"], counters[2])
        start = {k: v.clone() for k, v in before.networks["netG"].state_dict().items()}
        draws = WebganDraws(load_dataset(str(self.data)), c, 0, 1, counters[0],
                            torch.device("cpu"))
        d_loss, g_loss = gan.step(draws)
        self.assertEqual(draws.counter, after.tensors["state.counters"][0].item())
        # The losses and Q's two terms in G's step, as webgan logged them.
        logged = metrics(self.tmp / "second" / "metrics.csv")[-1]
        self.assertEqual(int(logged["step"]), 2)
        ours = {"d_loss": d_loss, "g_loss": g_loss, "info_categorical": gan.info[0],
                "info_continuous": gan.info[1]}
        for key, value in ours.items():
            self.assertAlmostEqual(value, float(logged[key]), delta=1e-4 * abs(value) + 1e-6,
                                   msg=key)
        for name, net in before.networks.items():
            want = after.networks[name].state_dict()
            for key, value in net.state_dict().items():
                if key.endswith("num_batches_tracked"):
                    self.assertEqual(value.item(), want[key].item(), f"{name}.{key}")
                elif key not in BEFORE_NORM[name]:
                    error = (value - want[key]).abs().max().item()
                    self.assertLess(error, WEIGHT_TOLERANCE, f"{name}.{key} differs by {error}")
        moved = max((v - start[k]).abs().max().item()
                    for k, v in before.networks["netG"].state_dict().items() if v.is_floating_point())
        self.assertGreater(moved, 1e-4, "the step moved nothing: the comparison would be empty")

    def test_webgan_to_torchrun_and_back(self):
        run = self.tmp / "torchrun"
        shutil.copytree(self.tmp / "second", run)
        checkpoint = run / "checkpoint.safetensors"
        ok, said = torch_train("--resume", str(checkpoint), "--data", str(self.data), "--steps",
                               "4", "--every", "1", "--out", str(run))
        self.assertTrue(ok, said)
        self.assertIn("over 2 processes", said)
        self.assertRegex(said, r"step 4/4: D [\d.]+, G [\d.]+, Q [\d.]+/[\d.]+")
        loaded = webgan_torch.load(str(checkpoint))
        # Two more Adam steps of each network; the RNG's counter past both steps' draws (a real
        # batch and z with its codes for D, z with its codes for G).
        self.assertEqual((loaded.step, loaded.tensors["state.counters"].tolist()[:3]),
                         (4, [12, 4, 4]))
        self.assertTrue(all(row["info_categorical"] for row in metrics(run / "metrics.csv")[-2:]))
        self.assert_samples_agree(checkpoint, "netG")
        webgan("train", "--resume", str(checkpoint), "--steps", "5", *QUIET, "--out", str(run))
        self.assertEqual(webgan_torch.load(str(checkpoint)).step, 5)

        # A run started in PyTorch (its codes drawn by torch's generator) takes InfoGAN's
        # recipe, as `webgan train` does.
        fresh = self.tmp / "fresh"
        ok, said = torch_train("--data", str(self.data), "--preset", "infogan28", *TINY,
                               "--draws", "torch", "--every", "1", "--steps", "1", "--out",
                               str(fresh), processes=1)
        self.assertTrue(ok, said)
        configs = []
        for checkpoint in (fresh / "checkpoint.safetensors", self.checkpoint("first")):
            with safe_open(str(checkpoint), "pt") as f:
                configs.append(json.loads(f.metadata()["config"]))
        self.assertTrue(same_config(*configs), configs)


if __name__ == "__main__":
    unittest.main()
