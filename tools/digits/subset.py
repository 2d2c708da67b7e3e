#!/usr/bin/env python3
"""Writes a zip of N of the built-in digits, N/10 per class in class folders, as 28×28 gray PNGs:
a small dataset such as users have, for comparing training with and without DiffAugment.

    python3 tools/digits/subset.py 500 digits500.zip [--seed 1]

Standard library only. The digits are read from data/digits.wgds.gz (see src/data/format.rs).
"""
import argparse
import gzip
import random
import struct
import zipfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def read_wgds(path):
    data = gzip.decompress(path.read_bytes())
    if data[:4] != b"WGDS":
        raise SystemExit(f"{path} is not a WGDS file")
    version, count, channels, height, width, classes = struct.unpack_from("<6I", data, 4)
    if version != 1:
        raise SystemExit(f"{path}: WGDS version {version}, this script reads 1")
    at = 28
    names = []
    for _ in range(classes):
        (n,) = struct.unpack_from("<I", data, at)
        names.append(data[at + 4 : at + 4 + n].decode())
        at += 4 + n
    labels = list(struct.unpack_from(f"<{count}I", data, at)) if classes else [0] * count
    at += 4 * count if classes else 0
    size = channels * height * width
    images = [data[at + i * size : at + (i + 1) * size] for i in range(count)]
    return names, labels, images, (channels, height, width)


def png(pixels, width, height):
    """A gray 8-bit PNG."""
    raw = b"".join(b"\x00" + pixels[y * width : (y + 1) * width] for y in range(height))

    def chunk(kind, body):
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("count", type=int, help="images in all, a multiple of the 10 classes")
    p.add_argument("out", type=Path)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    names, labels, images, (channels, height, width) = read_wgds(ROOT / "data" / "digits.wgds.gz")
    if channels != 1:
        raise SystemExit("expected gray digits")
    per_class = args.count // len(names)
    if per_class < 1 or per_class * len(names) != args.count:
        raise SystemExit(f"count must be a positive multiple of {len(names)}")
    rng = random.Random(args.seed)
    with zipfile.ZipFile(args.out, "w", zipfile.ZIP_DEFLATED) as z:
        for c, name in enumerate(names):
            chosen = rng.sample([i for i, l in enumerate(labels) if l == c], per_class)
            for i in chosen:
                z.writestr(f"{name}/{i:05d}.png", png(images[i], width, height))
    print(f"{args.out}: {args.count} digits, {per_class} per class")


if __name__ == "__main__":
    main()
