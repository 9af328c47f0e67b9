#!/usr/bin/env python3
"""Compare two directories of label PNGs by file stem: % identical pixels per image and the minimum.

    /root/mlvenv/bin/python scripts/compare_labels.py EXPECTED_DIR ACTUAL_DIR [--min 99.5]

Pixel values are compared as stored (palette PNGs: the class index; RGB PNGs: all three channels must match).
Exits 1 if any image is below --min percent, if sizes differ, or if a stem is missing from either side.
"""
import argparse
import glob
import os
import sys

import numpy as np
from PIL import Image


def load(path):
    with Image.open(path) as im:
        return np.asarray(im)


def stems(folder):
    return {os.path.splitext(os.path.basename(p))[0]: p for p in glob.glob(os.path.join(folder, "*.png"))}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("expected")
    ap.add_argument("actual")
    ap.add_argument("--min", type=float, default=99.5, help="minimum %% identical pixels per image")
    args = ap.parse_args()

    a, b = stems(args.expected), stems(args.actual)
    failed = False
    for s in sorted(set(a) ^ set(b)):
        print(f"{s}: only in {args.expected if s in a else args.actual}")
        failed = True
    scores = []
    for s in sorted(set(a) & set(b)):
        x, y = load(a[s]), load(b[s])
        if x.shape != y.shape:
            print(f"{s}: size differs {x.shape} vs {y.shape}")
            failed = True
            continue
        same = (x == y) if x.ndim == 2 else (x == y).all(axis=-1)
        pct = 100.0 * same.mean()
        scores.append(pct)
        flag = "" if pct >= args.min else f"  < {args.min}"
        print(f"{s}: {pct:.3f}% identical ({int((~same).sum())} of {same.size} pixels differ){flag}")
        failed |= pct < args.min
    if scores:
        print(f"min over {len(scores)} images: {min(scores):.3f}%")
    else:
        print("no common images")
        failed = True
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
