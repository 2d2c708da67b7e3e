"""Where a DCGAN step's random numbers come from: the real batch, z and the fakes' classes (or
InfoGAN's codes), and DiffAugment's parameters. Both sources keep webgan's RNG counter (one
tick for each real batch and each draw of z), which a checkpoint carries so that webgan goes on
past every draw.

- `WebganDraws`: webgan's own streams (`streams.py`): the step's whole batch is drawn as webgan
  draws it (dataset indices with replacement, z, classes, augmentations) and each process takes
  its slice, so a run continued here draws exactly what webgan would have drawn.
- `TorchDraws`: PyTorch's usual way: one DistributedSampler dealing each epoch's images out
  without replacement, torch's generator for z, classes and augmentations.
"""

import torch
from torch.utils.data import DataLoader, DistributedSampler

from . import streams


class WebganDraws:
    def __init__(self, data, c, rank, world, counter, device):
        self.data, self.c, self.device = data, c, device
        self.seed, self.batch = int(c["seed"]), c["batch"]
        share = self.batch // world
        self.part = slice(rank * share, (rank + 1) * share)
        self.counter = counter

    def _mine(self, a):
        return torch.from_numpy(a[self.part]).to(self.device)

    def real(self):
        self.counter += 1
        i = streams.indices(self.seed, streams.BATCH_INDICES, self.counter, len(self.data), self.batch)
        i = torch.from_numpy(i[self.part])
        classes = self.data.labels[i].to(self.device) if self.c["classes"] else None
        return self.data.images[i].to(self.device), classes

    def latent(self):
        self.counter += 1
        draw = streams.normal if self.c["prior"] == "normal" else streams.uniform
        z = draw(self.seed, streams.NOISE, self.counter, self.batch * self.c["nz"])
        z = self._mine(z.reshape(self.batch, self.c["nz"]))
        classes = None
        if self.c["classes"]:
            k = streams.indices(self.seed, streams.FAKE_CLASSES, self.counter, self.c["classes"], self.batch)
            classes = self._mine(k)
        return z, classes

    def codes(self, categorical, continuous):
        """InfoGAN's codes at z's step (after its draw): the categorical code's values ([n],
        uniform over them) and the continuous codes ([n, continuous], uniform in (−1, 1))."""
        n = self.batch
        k = streams.indices(self.seed, streams.FAKE_CLASSES, self.counter, max(categorical, 1), n)
        c = streams.uniform(self.seed, streams.CONTINUOUS_CODES, self.counter, n * continuous)
        return self._mine(k), self._mine(c.reshape(n, continuous))

    def mix(self):
        """WGAN-GP's uniform draw in (−1, 1) per sample, at the D step's step (after its z)."""
        return self._mine(streams.uniform(self.seed, streams.PENALTY_MIX, self.counter, self.batch))

    def augment(self, k, height, width):
        p = streams.augment_params(self.seed, k, self.counter, self.batch, height, width)
        return {name: self._mine(v) for name, v in p.items()}


class TorchDraws:
    def __init__(self, data, c, rank, world, counter, device):
        self.c, self.device, self.counter = c, device, counter
        torch.manual_seed(int(c["seed"]) + 1_000_003 * rank + 7919 * counter)
        source = data if len(data) >= c["batch"] else _Repeated(data, c["batch"])
        self.sampler = DistributedSampler(source, num_replicas=world, rank=rank, shuffle=True,
                                          seed=int(c["seed"]) + counter, drop_last=True)
        self.loader = DataLoader(source, batch_size=c["batch"] // world, sampler=self.sampler,
                                 drop_last=True)
        self.batches = self._endless()

    def _endless(self):
        epoch = 0
        while True:
            self.sampler.set_epoch(epoch)
            for images, labels in self.loader:
                yield images.to(self.device), labels.to(self.device)
            epoch += 1

    def real(self):
        self.counter += 1
        images, labels = next(self.batches)
        return images, labels if self.c["classes"] else None

    def latent(self):
        self.counter += 1
        n = self.c["batch"] // (torch.distributed.get_world_size() if torch.distributed.is_initialized() else 1)
        if self.c["prior"] == "normal":
            z = torch.randn(n, self.c["nz"], device=self.device)
        else:
            z = torch.rand(n, self.c["nz"], device=self.device) * 2 - 1
        k = self.c["classes"]
        return z, torch.randint(0, k, (n,), device=self.device) if k else None

    def codes(self, categorical, continuous):
        n = self.c["batch"] // (torch.distributed.get_world_size() if torch.distributed.is_initialized() else 1)  # noqa: E501
        k = torch.randint(0, max(categorical, 1), (n,), device=self.device)
        return k, torch.rand(n, continuous, device=self.device) * 2 - 1

    def mix(self):
        n = self.c["batch"] // (torch.distributed.get_world_size() if torch.distributed.is_initialized() else 1)
        return torch.rand(n, device=self.device) * 2 - 1

    def augment(self, k, height, width):
        return None  # DiffAugment draws fresh ones with torch's generator


class _Repeated(torch.utils.data.Dataset):
    """A dataset smaller than the batch, repeated until it fills one (webgan draws with
    replacement, so a batch may hold an image twice)."""

    def __init__(self, data, length):
        self.data, self.length = data, length

    def __len__(self):
        return self.length

    def __getitem__(self, i):
        return self.data[i % len(self.data)]
