"""`webgan export --format onnx` writes every family's generator so that ONNX Runtime draws
`webgan sample`'s images from the same z (and classes), and `webgan translate`'s translations
of the same images, within 1e-4: every DCGAN preset, conditional and not, from the moving
average where a run keeps one, both SAGAN presets (spectral norm folded into the weights,
self-attention as ONNX ops), pix2pix's U-Net and both of CycleGAN's generators; at batch 1 and
at batch 3 through the one free batch dimension.

Needs onnxruntime (build.sh's python_setup installs it from PyPI): without it this module fails
to import, and so the run fails; it does not skip.
"""

import json
import random
import tempfile
import unittest
from pathlib import Path

import numpy as np
import onnxruntime as ort
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

from test_checkpoints import TOLERANCE, png, webgan, write_zip


def sagan_generator(rng, levels, nz, classes, ngf, channels):
    """SAGAN's G (src/model/sagan.rs) of `levels` transposed convolutions before `last` (3 for
    sagan32, 4 for sagan64) as a checkpoint's `netG.` tensors, drawn at random: spectral norm's
    u and v from 20 power iterations over the weight seen as [out, in·k·k] (dim 1), batch
    norm's running statistics away from 0 and 1 (and, conditional, each class's γ and β apart),
    and self-attention with γ ≠ 0 and query and key weights large enough that its maps are far
    from uniform."""
    t = {}
    normal = lambda *shape, std=1.0: (rng.standard_normal(shape) * std).astype(np.float32)

    def conv(name, cin, cout, spectral):
        w = normal(cin, cout, 4, 4, std=1.0 / np.sqrt(cin * 16))
        t[f"{name}.bias"] = normal(cout, std=0.1)
        if not spectral:
            t[f"{name}.weight"] = w
            return
        matrix = w.astype(np.float64).transpose(1, 0, 2, 3).reshape(cout, -1)
        u = rng.standard_normal(cout)
        for _ in range(20):
            v = matrix.T @ u
            v /= np.linalg.norm(v)
            u = matrix @ v
            u /= np.linalg.norm(u)
        t[f"{name}.weight_orig"] = w
        t[f"{name}.weight_u"] = u.astype(np.float32)
        t[f"{name}.weight_v"] = v.astype(np.float32)

    x = nz
    for level in range(1, levels + 1):
        width = ngf << (levels - level)
        conv(f"netG.l{level}.0", x, width, True)
        bn = f"netG.l{level}.1"
        if classes:
            t[f"{bn}.embed.weight"] = np.concatenate(
                [1 + normal(classes, width, std=0.2), normal(classes, width, std=0.2)], 1)
            bn = f"{bn}.bn"
        else:
            t[f"{bn}.weight"] = 1 + normal(width, std=0.2)
            t[f"{bn}.bias"] = normal(width, std=0.2)
        t[f"{bn}.running_mean"] = normal(width, std=0.2)
        t[f"{bn}.running_var"] = rng.uniform(0.5, 1.5, width).astype(np.float32)
        t[f"{bn}.num_batches_tracked"] = np.array(2, dtype=np.int64)
        if level + 1 >= levels:
            attn = f"netG.attn{level + 2 - levels}"
            for part, out, std in (("query", width // 8, 2.0), ("key", width // 8, 2.0),
                                   ("value", width, 1.0)):
                t[f"{attn}.{part}_conv.weight"] = normal(out, width, 1, 1, std=std / np.sqrt(width))
                t[f"{attn}.{part}_conv.bias"] = normal(out, std=0.1)
            t[f"{attn}.gamma"] = np.array([0.6 if level < levels else -0.8], dtype=np.float32)
        x = width
    conv("netG.last.0", x, channels, False)
    return t


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

    def sample(self, name, checkpoint):
        tensors = self.tmp / f"{name}.safetensors"
        webgan("sample", "--checkpoint", str(checkpoint), "--n", "3", "--out",
               str(self.tmp / f"{name}-samples"), "--tensors", str(tensors))
        return load_file(str(tensors))

    def dcgan(self, name, *train_flags, width="4", batch="8", edit=None):
        run = self.tmp / name
        webgan("train", "--ngf", width, "--ndf", width, "--batch", batch, "--steps", "2",
               "--every", "0", "--quality-every", "0", "--out", str(run), *train_flags)
        checkpoint = run / "checkpoint.safetensors"
        if edit is not None:
            checkpoint = edit(name, checkpoint)
        sampled = self.sample(name, checkpoint)
        session = self.export(checkpoint, name)
        feeds = {"z": sampled["z"]}
        if "classes" in sampled:
            feeds["class"] = sampled["classes"].astype(np.int64)
        self.assertEqual({i.name for i in session.get_inputs()}, set(feeds))
        self.assert_matches(name, session, feeds, sampled["images"])

    def attending(self, name, checkpoint):
        """The checkpoint with self-attention that does something: γ starts at 0 (a new block is
        the identity) and two steps leave it near 0, and the 1×1 convolutions' small initial
        weights make the map nearly uniform. So every γ is set away from 0 and the query, key
        and value weights are scaled up, in D too (nothing reads it here). Checks that the
        images then move, so that matching them means the attention ops were compared."""
        before = self.sample(f"{name}-quiet", checkpoint)
        with safe_open(str(checkpoint), "np") as f:
            metadata = f.metadata()
        tensors = load_file(str(checkpoint))
        gammas = sorted(k for k in tensors if k.endswith(".gamma"))
        self.assertTrue(any(k.startswith("netG") for k in gammas), f"{name}: no γ in G")
        for i, k in enumerate(gammas):
            tensors[k] = np.array([0.75 - 0.5 * i], dtype=np.float32)
        scales = {"query_conv.weight": 20.0, "key_conv.weight": 20.0, "value_conv.weight": 10.0}
        for k in tensors:
            for suffix, scale in scales.items():
                if k.endswith(suffix):
                    tensors[k] = tensors[k] * np.float32(scale)
        edited = self.tmp / f"{name}-checkpoint.safetensors"
        save_file(tensors, str(edited), metadata=metadata)
        self.assert_attention_moves(name, before, edited)
        return edited

    def assert_attention_moves(self, name, quiet, checkpoint):
        """`checkpoint`'s samples differ from `quiet` (the same z and classes without the
        attention's contribution) by more than the tolerance, many times over."""
        after = self.sample(f"{name}-attending", checkpoint)
        moved = np.abs(after["images"] - quiet["images"]).max()
        self.assertGreater(moved, 1e-2, f"{name}: the attention moves no pixel")

    def sagan(self, name, *train_flags, edit=None):
        self.dcgan(name, *train_flags, width="8", batch="4", edit=edit or self.attending)

    def drawn_sagan64(self, name, checkpoint):
        """A conditional sagan64 checkpoint made from a sagan32 run's: its configuration with
        the preset changed, and G's tensors drawn at random in sagan64's layout, with u and v
        the weights' singular vectors and the attention's γ away from 0. (`webgan train`
        cannot run sagan64 yet: its sample grid's batch of 80 needs more attention map than a
        binding holds.) The layout drawn for sagan32 is checked against the run's own first."""
        with safe_open(str(checkpoint), "np") as f:
            metadata = f.metadata()
        trained = {k: v for k, v in load_file(str(checkpoint)).items() if k.startswith("netG.")}
        config = json.loads(metadata["config"])
        self.assertEqual((config["preset"], config["ngf"]), ("sagan32", 8))
        rng = np.random.default_rng(5)
        as32 = sagan_generator(rng, 3, config["nz"], config["classes"], 8, config["channels"])
        self.assertEqual({k: v.shape for k, v in as32.items()},
                         {k: v.shape for k, v in trained.items()})
        tensors = sagan_generator(rng, 4, config["nz"], config["classes"], 8, config["channels"])
        config["preset"] = "sagan64"
        metadata = {**metadata, "config": json.dumps(config)}
        quiet = self.tmp / f"{name}-quiet-sagan64.safetensors"
        gammas = [k for k in tensors if k.endswith(".gamma")]
        save_file({**tensors, **{k: np.zeros(1, np.float32) for k in gammas}}, str(quiet),
                  metadata=metadata)
        drawn = self.tmp / f"{name}-sagan64.safetensors"
        save_file(tensors, str(drawn), metadata=metadata)
        self.assert_attention_moves(name, self.sample(f"{name}-quiet", quiet), drawn)
        return drawn

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

    def test_infogan28(self):
        # z holds the noise, the categorical code one-hot and the continuous codes.
        self.dcgan("i28", "--preset", "infogan28", "--categorical", "3", "--continuous", "2")

    def test_sagan32_conditional(self):
        self.sagan("s32", "--preset", "sagan32")

    def test_sagan32_moving_average(self):
        self.sagan("s32ema", "--preset", "sagan32", "--unconditional", "--ema", "0.9")

    def test_sagan64_conditional(self):
        self.sagan("s64", "--preset", "sagan32", edit=self.drawn_sagan64)

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
