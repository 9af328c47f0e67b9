#!/usr/bin/env python3
"""Compare two directories of label PNGs by file stem: % identical pixels per image and the minimum.

    /root/mlvenv/bin/python scripts/compare_labels.py EXPECTED_DIR ACTUAL_DIR [--min 99.5] [--clear M]

Pixel values are compared as stored (palette PNGs: the class index; RGB PNGs: all three channels must match).
Exits 1 if any image is below --min percent, if sizes differ, or if a stem is missing from either side.
With --clear M and the reference's margins (EXPECTED_DIR/<stem>.margin.npy, from reference.py --margins), also
counts the pixels whose top-two margin is above M ("clear") and exits 1 if any of them differs.
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
    ap.add_argument("--clear", type=float, help="margin above which every pixel must be identical (needs margins)")
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
        if args.clear is not None:
            margin = np.load(os.path.join(args.expected, s + ".margin.npy"))
            clear = margin > args.clear
            wrong = int((clear & ~same).sum())
            print(f"    margin > {args.clear}: {int(clear.sum())} pixels ({100.0 * clear.mean():.1f}%), {wrong} differ;"
                  f" the differing pixels' largest margin {float(margin[~same].max()) if (~same).any() else 0:.4g}")
            failed |= wrong > 0
    if scores:
        print(f"min over {len(scores)} images: {min(scores):.3f}%")
    else:
        print("no common images")
        failed = True
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
