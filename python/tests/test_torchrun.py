"""A DCGAN run goes from webgan to PyTorch under torchrun (two processes, gloo on the CPU) and
back, and the other way round: each side's checkpoint holds what the other resumes from, and
`webgan sample` on PyTorch's checkpoint draws what PyTorch's generator draws, within 1e-4.
"""

import os
import random
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

import webgan_torch
from test_checkpoints import classes_zip, ROOT, TOLERANCE, png, webgan, write_zip

PYTHON = sys.executable
# Debian 12's torch 1.13 reads torchrun's default --redirects/--tee ("0") as nothing under
# Python 3.11; a mapping for a rank that does not exist means "no redirection" for all.
TORCHRUN = [PYTHON, "-m", "torch.distributed.run", "--redirects", "9:1", "--tee", "9:1"]
TINY = ["--ngf", "4", "--ndf", "4", "--batch", "8"]


def python_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "python"), env.get("PYTHONPATH", "")])
    return env


def torch_train(*args, processes=2):
    """webgan_torch.train under torchrun; its stderr, and whether it succeeded."""
    launch = TORCHRUN + ["--nproc_per_node", str(processes)] if processes > 1 else [PYTHON]
    r = subprocess.run(launch + ["-m", "webgan_torch.train", *args], capture_output=True,
                       text=True, env=python_env())
    return r.returncode == 0, r.stderr


class Torchrun(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.tmp = Path(self.dir.name)
        self.zip, self.data = classes_zip(self.tmp, 5, 6)

    def tearDown(self):
        self.dir.cleanup()

    def assert_same_layout(self, a, b):
        """Every tensor of one checkpoint is in the other, with its dtype and shape."""
        with safe_open(str(a), "pt") as fa, safe_open(str(b), "pt") as fb:
            self.assertEqual(set(fa.keys()), set(fb.keys()))
            for k in fa.keys():
                x, y = fa.get_tensor(k), fb.get_tensor(k)
                self.assertEqual((x.dtype, x.shape), (y.dtype, y.shape), k)

    def assert_samples_agree(self, checkpoint, net):
        tensors = self.tmp / "samples.safetensors"
        webgan("sample", "--checkpoint", str(checkpoint), "--n", "5", "--out",
               str(self.tmp / "samples"), "--tensors", str(tensors))
        loaded = webgan_torch.load(str(checkpoint))
        with safe_open(str(tensors), "pt") as f:
            z, images, classes = f.get_tensor("z"), f.get_tensor("images"), f.get_tensor("classes")
        with torch.no_grad():
            y = loaded.networks[net](z, classes)
        error = (y - images).abs().max().item()
        self.assertLess(error, TOLERANCE, f"PyTorch and webgan differ by {error}")

    def test_webgan_to_torchrun_and_back(self):
        run = self.tmp / "run"
        webgan("train", "--data", str(self.zip), "--preset", "dcgan28", *TINY, "--ema", "0.9",
               "--steps", "2", "--every", "0", "--quality-every", "0", "--out", str(run))
        checkpoint = run / "checkpoint.safetensors"
        before = load_file(str(checkpoint))
        ok, said = torch_train("--resume", str(checkpoint), "--data", str(self.data), "--steps",
                               "5", "--every", "1", "--out", str(run))
        self.assertTrue(ok, said)
        self.assertIn("over 2 processes", said)
        self.assertIn("webgan's draws", said)
        after = webgan_torch.load(str(checkpoint))
        self.assertEqual(after.step, 5)
        # Adam took 3 more steps of each network, the RNG's counter moved past every draw.
        counters = after.tensors["state.counters"].tolist()
        self.assertEqual(counters[1:3], [5, 5])
        self.assertGreater(counters[0], before["state.counters"][0].item())
        moved = (after.tensors["netG.main.0.weight"] - before["netG.main.0.weight"]).abs().max()
        self.assertGreater(moved.item(), 1e-4)
        self.assert_samples_agree(checkpoint, "netG_ema")
        webgan("train", "--resume", str(checkpoint), "--data", str(self.zip), "--steps", "7",
               "--every", "0", "--quality-every", "0", "--out", str(run))
        self.assertEqual(webgan_torch.load(str(checkpoint)).step, 7)

    def test_torch_first_then_webgan(self):
        run = self.tmp / "torch"
        # PyTorch's own way of drawing: a DistributedSampler over epochs, torch's generator.
        ok, said = torch_train("--data", str(self.data), "--preset", "dcgan28", *TINY,
                               "--optimizer", "sgd", "--draws", "torch", "--steps", "3",
                               "--every", "0", "--out", str(run))
        self.assertTrue(ok, said)
        self.assertIn("torch's draws", said)
        checkpoint = run / "checkpoint.safetensors"
        reference = self.tmp / "webgan"
        webgan("train", "--data", str(self.zip), "--preset", "dcgan28", *TINY, "--optimizer",
               "sgd", "--steps", "1", "--every", "0", "--quality-every", "0", "--out",
               str(reference))
        self.assert_same_layout(checkpoint, reference / "checkpoint.safetensors")
        self.assert_samples_agree(checkpoint, "netG")
        webgan("train", "--resume", str(checkpoint), "--data", str(self.zip), "--steps", "5",
               "--every", "0", "--quality-every", "0", "--out", str(run))
        self.assertEqual(webgan_torch.load(str(checkpoint)).step, 5)

    def translation_round_trip(self, family, zip_path, flags, processes, nets):
        run, reference = self.tmp / family, self.tmp / f"{family}-webgan"
        train = ["train", "--family", family, "--data", str(zip_path), "--size", "32", "--ngf",
                 "4", "--ndf", "4", "--every", "0", *flags]
        webgan(*train, "--steps", "2", "--out", str(run))
        webgan(*train, "--steps", "3", "--out", str(reference))
        checkpoint = run / "checkpoint.safetensors"
        data = self.tmp / f"{family}.safetensors"
        webgan("export-dataset", "--data", str(zip_path), "--like", str(checkpoint), "--out",
               str(data))
        ok, said = torch_train("--resume", str(checkpoint), "--data", str(data), "--steps", "4",
                               "--every", "1", "--out", str(run), processes=processes)
        self.assertTrue(ok, said)
        self.assertIn(f"over {processes} process", said)
        self.assert_same_layout(checkpoint, reference / "checkpoint.safetensors")
        loaded = webgan_torch.load(str(checkpoint))
        self.assertEqual(loaded.step, 4)
        for net, direction in nets:
            tensors = self.tmp / f"{direction}.safetensors"
            webgan("translate", "--checkpoint", str(checkpoint), "--data", str(zip_path),
                   "--direction", direction, "--out", str(self.tmp / direction), "--tensors",
                   str(tensors))
            t = load_file(str(tensors))
            with torch.no_grad():
                error = (loaded.networks[net](t["input"]) - t["output"]).abs().max().item()
            self.assertLess(error, TOLERANCE, f"{net}: PyTorch and webgan differ by {error}")
        webgan("train", "--resume", str(checkpoint), "--data", str(zip_path), "--steps", "6",
               "--every", "0", "--out", str(run))
        self.assertEqual(webgan_torch.load(str(checkpoint)).step, 6)

    def test_pix2pix_to_torch_and_back(self):
        rng = random.Random(8)
        pairs = self.tmp / "pairs.zip"
        write_zip(pairs, {f"{side}/{i}.png": png(rng, 40) for side in "AB" for i in range(4)})
        self.translation_round_trip("pix2pix", pairs, [], 1, [("netG", "AtoB")])

    def test_cyclegan_to_torchrun_and_back(self):
        # Two processes share a batch of 2; the pools go along.
        rng = random.Random(6)
        unpaired = self.tmp / "unpaired.zip"
        write_zip(unpaired, {f"train{side}/{i}.png": png(rng, 36) for side in "AB" for i in range(3)})
        self.translation_round_trip("cyclegan", unpaired, ["--batch", "2"], 2,
                                    [("netG_A", "AtoB"), ("netG_B", "BtoA")])

    def test_bad_input(self):
        run = self.tmp / "run"
        webgan("train", "--data", str(self.zip), "--preset", "dcgan28", *TINY, "--steps", "1",
               "--every", "0", "--quality-every", "0", "--out", str(run))
        checkpoint = run / "checkpoint.safetensors"
        kept = checkpoint.read_bytes()

        def refused(expect, *args, processes=1):
            ok, said = torch_train(*args, processes=processes)
            self.assertFalse(ok, said)
            self.assertIn(expect, said)
            self.assertEqual(checkpoint.read_bytes(), kept, "a refused run left the checkpoint")

        resume = ["--resume", str(checkpoint), "--out", str(run), "--steps", "3"]
        refused("cannot share a batch of 8", *resume, "--data", str(self.data), processes=3)
        refused("is a zip: convert it once", *resume, "--data", str(self.zip))
        refused("--ngf cannot change", *resume, "--data", str(self.data), "--ngf", "8")
        # A checkpoint without its optimizer state.
        stripped = self.tmp / "stripped.safetensors"
        with safe_open(str(checkpoint), "pt") as f:
            meta = f.metadata()
            tensors = {k: f.get_tensor(k) for k in f.keys() if not k.startswith("optim.")}
        save_file(tensors, str(stripped), metadata=meta)
        refused("has no optimizer state", "--resume", str(stripped), "--data", str(self.data),
                "--out", str(run), "--steps", "3")
        # Another family's checkpoint.
        pairs = self.tmp / "pairs.zip"
        write_zip(pairs, {"A/0.png": png(random.Random(1), 36), "B/0.png": png(random.Random(2), 36)})
        p2p = self.tmp / "p2p"
        webgan("train", "--family", "pix2pix", "--data", str(pairs), "--size", "32", "--ngf",
               "2", "--ndf", "2", "--steps", "1", "--out", str(p2p))
        refused("holds a DCGAN dataset: export the pix2pix run's zip", "--resume",
                str(p2p / "checkpoint.safetensors"), "--data", str(self.data), "--out", str(run),
                "--steps", "3")
        p2p_data = self.tmp / "p2p.safetensors"
        webgan("export-dataset", "--data", str(pairs), "--like", str(p2p / "checkpoint.safetensors"),
               "--out", str(p2p_data))
        refused("holds a pix2pix run's images; this is a DCGAN run", *resume, "--data",
                str(p2p_data))
        refused("keeps its checkpoint's settings: --ngf cannot be given", "--resume",
                str(p2p / "checkpoint.safetensors"), "--data", str(p2p_data), "--out", str(run),
                "--steps", "3", "--ngf", "8")
        # A dataset fitted to another preset.
        other = self.tmp / "d32.safetensors"
        webgan("export-dataset", "--data", str(self.zip), "--preset", "dcgan32", "--out", str(other))
        refused("export the zip again with --preset dcgan28", *resume, "--data", str(other))


if __name__ == "__main__":
    unittest.main()
