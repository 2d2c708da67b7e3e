"""DiffAugment (Zhao et al. 2020) as webgan applies it (`--augment color,translation,cutout`):
each augmentation with fresh random parameters per image, differentiable, in the order the
policy names them. "color" is brightness, saturation and contrast one after the other;
translation shifts by up to 1/8 of a side, filling with zeros; cutout zeroes a square of half
a side.
"""

import torch
from torch.nn import functional as F

KINDS = ("color", "translation", "cutout")


def parse(policy):
    """The kinds of a policy string ("" or "none" for none), checked."""
    if policy in ("", "none"):
        return []
    kinds = [k.strip() for k in policy.split(",")]
    for k in kinds:
        if k not in KINDS:
            raise ValueError(f"unknown augmentation '{k}': choose from color, translation, cutout")
    if len(set(kinds)) != len(kinds):
        raise ValueError(f"'{policy}' names an augmentation twice")
    return kinds


def _color(x):
    b = x.shape[0]
    x = x + (torch.rand(b, 1, 1, 1, device=x.device) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (torch.rand(b, 1, 1, 1, device=x.device) * 2) + mean
    mean = x.mean(dim=[1, 2, 3], keepdim=True)
    return (x - mean) * (torch.rand(b, 1, 1, 1, device=x.device) + 0.5) + mean


def _translation(x, ratio=0.125):
    b, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-sh, sh + 1, (b, 1, 1), device=x.device)
    dx = torch.randint(-sw, sw + 1, (b, 1, 1), device=x.device)
    n, y, xx = torch.meshgrid(torch.arange(b, device=x.device), torch.arange(h, device=x.device),
                              torch.arange(w, device=x.device), indexing="ij")
    # Read from the image padded by one zero, indices clamped into the padding.
    y = torch.clamp(y + dy + 1, 0, h + 1)
    xx = torch.clamp(xx + dx + 1, 0, w + 1)
    padded = F.pad(x, [1, 1, 1, 1]).permute(0, 2, 3, 1)
    return padded[n, y, xx].permute(0, 3, 1, 2)


def _cutout(x, ratio=0.5):
    b, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    oy = torch.randint(0, h + (1 - ch % 2), (b, 1, 1), device=x.device)
    ox = torch.randint(0, w + (1 - cw % 2), (b, 1, 1), device=x.device)
    n, y, xx = torch.meshgrid(torch.arange(b, device=x.device), torch.arange(ch, device=x.device),
                              torch.arange(cw, device=x.device), indexing="ij")
    y = torch.clamp(y + oy - ch // 2, 0, h - 1)
    xx = torch.clamp(xx + ox - cw // 2, 0, w - 1)
    mask = torch.ones(b, h, w, dtype=x.dtype, device=x.device)
    mask[n, y, xx] = 0
    return x * mask.unsqueeze(1)


def augment(x, kinds):
    """`x` ([n, c, h, w]) through each of `kinds` in order."""
    for k in kinds:
        x = {"color": _color, "translation": _translation, "cutout": _cutout}[k](x)
    return x
