"""webgan's SAGAN checkpoints (sagan32, sagan64) load into webgan_torch's modules with strict
names and shapes; PyTorch's generator in eval mode draws `webgan sample`'s images within 1e-4;
one PyTorch step from a webgan checkpoint lands on webgan's next step (weights, spectral norm's
u and v after their power iterations, running statistics, Adam's moments); and
webgan_torch.train continues a SAGAN run under torchrun (two processes, gloo) and starts one
with the recipe webgan starts.

`webgan train --preset sagan64` stops before its first step where a storage binding holds
128 MiB (WebGPU's default, lavapipe's): the sample grid it draws as it trains runs G on 64
images or more at once, and attention over 32×32 positions keeps a 4 MiB map per image. So the
sagan64 checkpoint is started by webgan_torch.train, on the digits `webgan export-dataset`
writes, and `webgan sample`, which draws a few images at a time, reads it.

Attention's γ starts at 0 and moves by about a learning rate a step, so that in a run of a few
steps attention would hardly count: the checkpoints are rewritten with γ of 1 to 2 first.
"""

import json
import re
import shutil
import tempfile
import unittest
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

import webgan_torch
from test_checkpoints import TOLERANCE, classes_zip, webgan
from test_dcgan_step import WEIGHT_TOLERANCE
from test_torchrun import torch_train
from webgan_torch.data import load_dataset
from webgan_torch.draws import WebganDraws
from webgan_torch.gan import DcganStep

TINY = ["--ngf", "8", "--ndf", "8", "--batch", "8", "--every", "0"]
# webgan's quality measure, which webgan_torch.train does not take, is not needed here.
QUIET = ["--quality-every", "0"]


def with_gammas(path, out):
    """The checkpoint at `path` written to `out` with every attention block's γ set, each to
    another value (1.0, 1.2, ...), so that a block read in another's place shows."""
    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    gammas = sorted(k for k in tensors if k.endswith(".gamma"))
    for i, k in enumerate(gammas):
        tensors[k] = torch.full_like(tensors[k], 1.0 + 0.2 * (i % 6))
    save_file(tensors, str(out), metadata=meta)
    return gammas


def same_config(a, b):
    """Whether two run configurations agree, numbers to f32's precision (webgan writes its f32
    settings widened: 0.9 as 0.8999999761581421)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_config(a[k], b[k]) for k in a)
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) and \
            abs(a - b) <= 1e-6 * max(abs(a), abs(b))
    return a == b


class SaganSamples(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.tmp = Path(self.dir.name)

    def tearDown(self):
        self.dir.cleanup()

    def check(self, preset, *flags, net="netG", by_torch=False):
        run = self.tmp / preset
        if by_torch:
            digits = self.tmp / "digits.safetensors"
            webgan("export-dataset", "--preset", preset, "--out", str(digits))
            ok, said = torch_train("--data", str(digits), "--preset", preset, *TINY, "--steps",
                                   "2", "--out", str(run), *flags, processes=1)
            self.assertTrue(ok, said)
        else:
            webgan("train", "--preset", preset, *TINY, *QUIET, "--steps", "2", "--out", str(run),
                   *flags)
        checkpoint = self.tmp / f"{preset}-gammas.safetensors"
        gammas = with_gammas(run / "checkpoint.safetensors", checkpoint)
        self.assertEqual(len([k for k in gammas if k.startswith(net + ".")]), 2)
        loaded = webgan_torch.load(str(checkpoint))
        self.assertEqual((loaded.family, loaded.step, loaded.config["preset"]), ("dcgan", 2, preset))
        # Conditional on the built-in digits.
        self.assertEqual(loaded.config["classes"], 10)
        tensors = self.tmp / f"{preset}.safetensors"
        webgan("sample", "--checkpoint", str(checkpoint), "--n", "6", "--out",
               str(self.tmp / "samples"), "--tensors", str(tensors))
        with safe_open(str(tensors), "pt") as f:
            z, images, classes = f.get_tensor("z"), f.get_tensor("images"), f.get_tensor("classes")
        g = loaded.networks[net]
        self.assertFalse(g.training)
        with torch.no_grad():
            y = g(z, classes)
        self.assertEqual(y.shape, images.shape)
        self.assertGreater(images.std().item(), 1e-3)
        error = (y - images).abs().max().item()
        self.assertLess(error, TOLERANCE, f"{preset}: PyTorch and webgan differ by {error}")
        # Attention counts in what was compared: without it the images are others.
        with torch.no_grad():
            for block in (g.attn1, g.attn2):
                block.gamma.zero_()
            without = (g(z, classes) - images).abs().max().item()
        self.assertGreater(without, 50 * TOLERANCE, f"{preset}: attention barely counts")
        # Eval mode read the stored u and v and moved nothing.
        stored = load_file(str(checkpoint))
        for key, value in g.state_dict().items():
            if key.endswith(("weight_u", "weight_v")):
                self.assertTrue(torch.equal(value, stored[f"{net}.{key}"]), key)
        with torch.no_grad():
            self.assertEqual(loaded.networks["netD"](images, classes).shape, (6,))

    def test_sagan32_digits_with_average(self):
        self.check("sagan32", "--ema", "0.9", net="netG_ema")

    def test_sagan64_digits(self):
        self.check("sagan64", by_torch=True)


class SaganRuns(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.tmp = Path(self.dir.name)
        self.zip, _ = classes_zip(self.tmp, 3, 3)
        self.data = self.tmp / "sagan32.safetensors"
        webgan("export-dataset", "--data", str(self.zip), "--preset", "sagan32", "--out",
               str(self.data))

    def tearDown(self):
        self.dir.cleanup()

    def test_one_step_lands_on_webgans(self):
        common = ["--data", str(self.zip), "--preset", "sagan32", *TINY, *QUIET, "--ema", "0.9"]
        first, second = self.tmp / "first", self.tmp / "second"
        webgan("train", *common, "--steps", "1", "--out", str(first))
        start = first / "checkpoint.safetensors"
        with_gammas(start, start)
        shutil.copytree(first, second)
        webgan("train", *common, "--steps", "2", "--resume",
               str(second / "checkpoint.safetensors"), "--out", str(second))
        before = webgan_torch.load(str(start))
        after = webgan_torch.load(str(second / "checkpoint.safetensors"))
        c = before.config
        sagan = {"loss": "hinge", "beta1": 0.0, "beta2": 0.9, "lr_d": 4e-4, "lr_g": 1e-4}
        self.assertTrue(same_config(sagan, {"loss": c["loss"], "beta1": c["d_optimizer"]["beta1"],
                                            "beta2": c["g_optimizer"]["beta2"],
                                            "lr_d": c["d_optimizer"]["lr"],
                                            "lr_g": c["g_optimizer"]["lr"]}), c)
        initial = {n: {k: v.clone() for k, v in net.state_dict().items()}
                   for n, net in before.networks.items()}
        gan = DcganStep(c, before.networks)
        counters = before.tensors["state.counters"].tolist()
        webgan_torch.load_optimizer_state(before, gan.opt_d, ["netD"], counters[1])
        webgan_torch.load_optimizer_state(before, gan.opt_g, ["netG"], counters[2])
        draws = WebganDraws(load_dataset(str(self.data)), c, 0, 1, counters[0],
                            torch.device("cpu"))
        gan.step(draws)
        self.assertEqual(draws.counter, after.tensors["state.counters"][0].item())

        # Adam's moments as webgan writes them. With β1 = 0 the first is the step's gradient.
        mine = self.tmp / "torch.safetensors"
        webgan_torch.save(str(mine), "dcgan", c, before.networks,
                          {gan.opt_d: ["netD"], gan.opt_g: ["netG"]}, 2, counters)
        ours, theirs = load_file(str(mine)), after.tensors
        moments = sorted(k for k in theirs if k.startswith("optim."))
        self.assertEqual(moments, sorted(k for k in ours if k.startswith("optim.")))
        self.assertTrue(any(".attn1.gamma." in k for k in moments))
        largest = {}
        for key in moments:
            kind = (key.split(".")[1], key.rsplit(".", 1)[1])
            largest[kind] = max(largest.get(kind, 0.0), theirs[key].abs().max().item())
        for key in moments:
            scale = theirs[key].abs().max().item()
            error = (ours[key] - theirs[key]).abs().max().item()
            # Relative to the tensor, or, for a gradient at float noise, to the network's.
            bound = 1e-4 * scale + 1e-6 * largest[(key.split(".")[1], key.rsplit(".", 1)[1])]
            self.assertLessEqual(error, bound, f"{key} differs by {error} of {scale}")

        # Some of SAGAN's parameters have no gradient in exact arithmetic: the bias of a conv
        # that batch norm follows (the norm takes the mean away), key_conv's bias (it adds the
        # same to every logit in a row of the softmax), and, while every logit lies inside the
        # hinge's margin so that the real and the fake terms cancel, D's last bias and its last
        # value_conv bias (each adds the same to every image's logit). What they get is float
        # noise, different in webgan's sums and PyTorch's, which Adam, dividing by its root mean
        # square, turns into steps of about a learning rate either way; the same goes for any
        # weight whose gradient came out exactly 0 in webgan at both steps. Their moments agree
        # above; their weights are left out below.
        no_gradient = {
            "netG": re.compile(r"l\d\.0\.bias|attn\d\.key_conv\.bias"),
            "netD": re.compile(r"attn\d\.key_conv\.bias|attn2\.value_conv\.bias|last\.0\.bias"),
        }
        noise = {}
        for name in ("netG", "netD"):
            for key, p in before.networks[name].named_parameters():
                moment = theirs.get(f"optim.{name}.{key}.exp_avg_sq")
                if moment is None:
                    continue
                if no_gradient[name].fullmatch(key):
                    noise[(name, key)] = torch.ones_like(p, dtype=torch.bool)
                else:
                    noise[(name, key)] = moment.reshape(p.shape) == 0
        left_out = sum(int(m.sum()) for m in noise.values())
        trained = sum(p.numel() for n in ("netG", "netD") for p in before.networks[n].parameters())
        self.assertLess(left_out, 0.005 * trained)
        for name, net in before.networks.items():
            want = after.networks[name].state_dict()
            for key, value in net.state_dict().items():
                if key.endswith("num_batches_tracked"):
                    self.assertEqual(value.item(), want[key].item(), f"{name}.{key}")
                    continue
                differ = (value - want[key]).abs()
                # G_ema takes a part of G's noise with G's step.
                noisy = noise.get(("netD" if name == "netD" else "netG", key))
                if noisy is not None:
                    differ = differ[~noisy]
                error = differ.max().item() if differ.numel() else 0.0
                self.assertLess(error, WEIGHT_TOLERANCE, f"{name}.{key} differs by {error}")
                if key.endswith(("weight_u", "weight_v", "gamma")):
                    # The power iterations and γ's update moved them: compared, not copied.
                    moved = (value - initial[name][key]).abs().max().item()
                    self.assertGreater(moved, 0, f"{name}.{key} did not move")

    def test_torch_continues_and_starts_a_run(self):
        run = self.tmp / "run"
        webgan("train", "--data", str(self.zip), "--preset", "sagan32", *TINY, *QUIET, "--ema",
               "0.9", "--steps", "1", "--out", str(run))
        checkpoint = run / "checkpoint.safetensors"
        with_gammas(checkpoint, checkpoint)
        ok, said = torch_train("--resume", str(checkpoint), "--data", str(self.data), "--steps",
                               "3", "--every", "0", "--out", str(run), processes=2)
        self.assertTrue(ok, said)
        self.assertIn("over 2 processes", said)
        loaded = webgan_torch.load(str(checkpoint))
        self.assertEqual((loaded.step, loaded.tensors["state.counters"].tolist()[1:3]), (3, [3, 3]))
        # What PyTorch wrote, the moving average's copied u and v too, samples as webgan reads it.
        tensors = self.tmp / "samples.safetensors"
        webgan("sample", "--checkpoint", str(checkpoint), "--n", "5", "--out",
               str(self.tmp / "samples"), "--tensors", str(tensors))
        with safe_open(str(tensors), "pt") as f:
            z, images, classes = f.get_tensor("z"), f.get_tensor("images"), f.get_tensor("classes")
        with torch.no_grad():
            y = loaded.networks["netG_ema"](z, classes)
        error = (y - images).abs().max().item()
        self.assertLess(error, TOLERANCE, f"PyTorch and webgan differ by {error}")
        webgan("train", "--resume", str(checkpoint), "--data", str(self.zip), "--steps", "4",
               "--every", "0", *QUIET, "--out", str(run))
        self.assertEqual(webgan_torch.load(str(checkpoint)).step, 4)

        # A new run takes SAGAN's recipe, as `webgan train` does for the same flags.
        fresh = self.tmp / "fresh"
        ok, said = torch_train("--data", str(self.data), "--preset", "sagan32", *TINY, "--ema",
                               "0.9", "--steps", "1", "--out", str(fresh), processes=1)
        self.assertTrue(ok, said)
        with safe_open(str(fresh / "checkpoint.safetensors"), "pt") as f:
            torch_config = json.loads(f.metadata()["config"])
        with safe_open(str(checkpoint), "pt") as f:
            webgan_config = json.loads(f.metadata()["config"])
        self.assertTrue(same_config(torch_config, webgan_config), (torch_config, webgan_config))
        webgan("train", "--resume", str(fresh / "checkpoint.safetensors"), "--data",
               str(self.zip), "--steps", "2", "--every", "0", *QUIET, "--out", str(fresh))
        self.assertEqual(webgan_torch.load(str(fresh / "checkpoint.safetensors")).step, 2)


if __name__ == "__main__":
    unittest.main()
