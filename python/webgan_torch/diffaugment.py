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


def draw(batch, height, width, device):
    """Fresh parameters per sample, with torch's generator, as DiffAugment_pytorch draws them."""
    sh, sw = int(height * 0.125 + 0.5), int(width * 0.125 + 0.5)
    ch, cw = int(height * 0.5 + 0.5), int(width * 0.5 + 0.5)
    r = lambda lo, hi: torch.randint(lo, hi, (batch,), device=device)  # noqa: E731
    return {
        "brightness": torch.rand(batch, device=device) - 0.5,
        "saturation": torch.rand(batch, device=device) * 2,
        "contrast": torch.rand(batch, device=device) + 0.5,
        "shift": torch.stack([r(-sh, sh + 1), r(-sw, sw + 1)], 1),
        "cutout": torch.stack([r(0, height + 1 - ch % 2), r(0, width + 1 - cw % 2)], 1),
    }


def _per_sample(v):
    return v.reshape(-1, 1, 1, 1)


def _color(x, p):
    x = x + _per_sample(p["brightness"])
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * _per_sample(p["saturation"]) + mean
    mean = x.mean(dim=[1, 2, 3], keepdim=True)
    return (x - mean) * _per_sample(p["contrast"]) + mean


def _translation(x, p):
    b, _, h, w = x.shape
    dy, dx = p["shift"][:, 0].reshape(b, 1, 1), p["shift"][:, 1].reshape(b, 1, 1)
    n, y, xx = torch.meshgrid(torch.arange(b, device=x.device), torch.arange(h, device=x.device),
                              torch.arange(w, device=x.device), indexing="ij")
    # Read from the image padded by one zero, indices clamped into the padding.
    y = torch.clamp(y + dy + 1, 0, h + 1)
    xx = torch.clamp(xx + dx + 1, 0, w + 1)
    padded = F.pad(x, [1, 1, 1, 1]).permute(0, 2, 3, 1)
    return padded[n, y, xx].permute(0, 3, 1, 2)


def _cutout(x, p):
    b, _, h, w = x.shape
    ch, cw = int(h * 0.5 + 0.5), int(w * 0.5 + 0.5)
    oy, ox = p["cutout"][:, 0].reshape(b, 1, 1), p["cutout"][:, 1].reshape(b, 1, 1)
    n, y, xx = torch.meshgrid(torch.arange(b, device=x.device), torch.arange(ch, device=x.device),
                              torch.arange(cw, device=x.device), indexing="ij")
    y = torch.clamp(y + oy - ch // 2, 0, h - 1)
    xx = torch.clamp(xx + ox - cw // 2, 0, w - 1)
    mask = torch.ones(b, h, w, dtype=x.dtype, device=x.device)
    mask[n, y, xx] = 0
    return x * mask.unsqueeze(1)


def augment(x, kinds, params=None):
    """`x` ([n, c, h, w]) through each of `kinds` in order, with `params` (per sample, as
    `draw` gives them; fresh ones when None)."""
    if not kinds:
        return x
    if params is None:
        params = draw(x.shape[0], x.shape[2], x.shape[3], x.device)
    for k in kinds:
        x = {"color": _color, "translation": _translation, "cutout": _cutout}[k](x, params)
    return x
