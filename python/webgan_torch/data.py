"""Datasets as `webgan export-dataset` writes them: a zip's images decoded and fitted to a preset
exactly as `webgan train` fits them, so that both trainers see the same pixels."""

import json
from dataclasses import dataclass

import torch
from safetensors import safe_open


@dataclass
class TranslationData:
    """A pix2pix run's pairs (row i of `a` with row i of `b`) or a CycleGAN run's two domains,
    uint8 [n, c, load, load] at the run's load size."""

    family: str
    a: torch.Tensor
    b: torch.Tensor
    size: int
    load_size: int


@dataclass
class Dataset:
    """`images`: uint8 [n, channels, size, size]; `labels`: int64 [n], or None without
    classes; `class_names`: one per class."""

    images: torch.Tensor
    labels: object
    preset: str
    class_names: list

    def __len__(self):
        return self.images.shape[0]

    def __getitem__(self, i):
        label = self.labels[i] if self.labels is not None else torch.tensor(0)
        return self.images[i], label


def load_dataset(path):
    """The dataset file `webgan export-dataset` wrote at `path`; a zip gets the command that
    converts it."""
    path = str(path)
    with open(path, "rb") as f:
        head = f.read(2)
    if head == b"PK":
        raise ValueError(
            f"{path} is a zip: convert it once with `webgan export-dataset --data {path} "
            f"--out data.safetensors` (the same decoding and resizing as webgan train), then "
            f"pass --data data.safetensors"
        )
    try:
        with safe_open(path, "pt") as f:
            meta = f.metadata() or {}
            if meta.get("format") != "webgan-dataset-1":
                raise ValueError(
                    f"{path} is not a dataset written by `webgan export-dataset`"
                )
            if "images_a" in f.keys():
                return TranslationData(meta.get("family", ""), f.get_tensor("images_a"),
                                       f.get_tensor("images_b"), int(meta.get("size", 0)),
                                       int(meta.get("load_size", 0)))
            images = f.get_tensor("images")
            labels = f.get_tensor("labels") if "labels" in f.keys() else None
    except Exception as e:  # safetensors raises its own error types for a damaged file
        if isinstance(e, ValueError):
            raise
        raise ValueError(f"{path} is not a readable safetensors file ({e})") from None
    if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[0] == 0:
        raise ValueError(f"{path}: `images` must be uint8 [n, c, h, w] with n > 0")
    if labels is not None and labels.shape != (images.shape[0],):
        raise ValueError(f"{path}: `labels` must hold one class per image")
    names = json.loads(meta.get("class_names", "[]"))
    return Dataset(images, labels, meta.get("preset", ""), names)
