"""webgan's spectrally normalised conv, transposed conv and dense layers against
torch.nn.utils.spectral_norm: the tensors webgan saves (weight_orig, bias, weight_u,
weight_v) load strictly into the wrapped PyTorch module, whose train-mode forward (one power
iteration) gives webgan's output and leaves webgan's u and v, and whose eval-mode forward then
gives webgan's eval output.

Needs cargo and a Vulkan adapter (lavapipe is enough): the fixture comes from
`cargo test --test integration spectral_norm::write_pytorch_fixture`. Run from the repository
root:
    PYTHONPATH=python python3 -m unittest discover -s python/tests
"""

import os
import subprocess
import tempfile
import unittest
from pathlib import Path

import torch
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parents[2]
# Both sides compute in f32; the kernels sum in other orders than PyTorch's.
TOLERANCE = 1e-4


def modules():
    """The PyTorch twins of tests/spectral_norm.rs's cases (spectral_norm picks dim 1 for the
    transposed conv by itself)."""
    return {
        "conv": torch.nn.Conv2d(3, 5, 3, padding=1),
        "dense": torch.nn.Linear(7, 4),
        "conv_transpose": torch.nn.ConvTranspose2d(4, 3, 3, 2, 1, output_padding=1, bias=False),
    }


class SpectralNormMatchesPyTorch(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        path = Path(cls.tmp.name) / "spectral.safetensors"
        env = dict(os.environ, WEBGAN_SPECTRAL_FIXTURE=str(path))
        subprocess.run(
            ["cargo", "test", "--test", "integration", "spectral_norm::write_pytorch_fixture", "--",
             "--exact"],
            cwd=ROOT, env=env, check=True, capture_output=True,
        )
        cls.fixture = load_file(str(path))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_forward_and_power_iteration(self):
        f = self.fixture
        for name, module in modules().items():
            with self.subTest(layer=name):
                m = torch.nn.utils.spectral_norm(module)
                prefix = f"{name}.main.0."
                state = {k[len(prefix):]: v for k, v in f.items() if k.startswith(prefix)}
                self.assertIn("weight_orig", state)
                self.assertNotIn("weight", state)
                m.load_state_dict(state, strict=True)
                m.train()
                with torch.no_grad():
                    y = m(f[f"{name}.x"])
                torch.testing.assert_close(y, f[f"{name}.y_train"], atol=TOLERANCE, rtol=1e-3)
                torch.testing.assert_close(m.weight_u, f[f"{name}.u_after"], atol=1e-5, rtol=1e-4)
                torch.testing.assert_close(m.weight_v, f[f"{name}.v_after"], atol=1e-5, rtol=1e-4)
                m.eval()
                with torch.no_grad():
                    y = m(f[f"{name}.x"])
                torch.testing.assert_close(y, f[f"{name}.y_eval"], atol=TOLERANCE, rtol=1e-3)


if __name__ == "__main__":
    unittest.main()
