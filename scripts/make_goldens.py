#!/usr/bin/env python3
"""Golden tensors for the Swift inference tests, computed by scripts/reference.py in float64, stored as F32.

    /root/mlvenv/bin/python scripts/make_goldens.py        # defaults below; deterministic

Reads the committed tiny model (Tests/InferenceTests/Fixtures/tiny-clip) and the test images in
Fixtures/golden/images/ (drawn here, with fixed seeds, only when missing: a JPEG re-encoded by another libjpeg
could differ by a bit, so the committed files are the source of truth). Writes Fixtures/golden/text.safetensors
and one <case>.safetensors per case; Fixtures/golden/README.md documents every tensor.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference as ref  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
FIXTURES = os.path.join(ROOT, "Tests", "InferenceTests", "Fixtures")
CLASSES = ["cat", "dog", "tree", "sky", "person"]
SETTINGS = [(0.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 1.0)]  # (prompt denoising, key smoothing) thresholds
IMAGES = {"img_a": "img_a.png", "img_b": "img_b.jpg", "img_c": "img_c.png"}
# case name -> (image, preset, short side, long side cap)
CASES = {
    "img_a.clip": ("img_a", "clip", 48, 2048),
    "img_b.clip": ("img_b", "clip", 48, 2048),
    "img_c.clip": ("img_c", "clip", 48, 2048),
    "img_a.reference": ("img_a", "reference", 48, 2048),
    "img_a.clip.long56": ("img_a", "clip", 48, 56),
}
# The other dense modes, whole image, no prompt denoising: case name -> (image, mode, short side). img_a and img_b
# have grids other than the model's 4 x 4 (position embeddings resized by scale factor); img_c at 64 has it.
MODE_CASES = {
    "img_a.clearclip": ("img_a", "clearclip", 48),
    "img_a.sclip": ("img_a", "sclip", 48),
    "img_a.naclip": ("img_a", "naclip", 48),
    "img_b.naclip": ("img_b", "naclip", 48),
    "img_b.clearclip": ("img_b", "clearclip", 48),
    "img_c.sclip.s64": ("img_c", "sclip", 64),
}
# Sliding windows (docs/DENSE-MODES.md section 2): case name -> (image, mode, short side, window, stride). 56-pixel
# windows are not whole patches (ClearCLIP pads them around, SCLIP/NACLIP cut them to 48, MaskCLIP pads them to
# 64); img_c at 48 is smaller than its 64-pixel window.
WINDOW_CASES = {
    "img_a.clearclip.w56": ("img_a", "clearclip", 80, 56, 24),
    "img_a.naclip.w56": ("img_a", "naclip", 80, 56, 24),
    "img_a.maskclip.w56": ("img_a", "maskclip", 80, 56, 24),
    "img_b.sclip.w64": ("img_b", "sclip", 80, 64, 32),
    "img_c.sclip.w64": ("img_c", "sclip", 48, 64, 0),
}
# PAMR (docs/DENSE-MODES.md section 3) on the full-size scores: case name -> (image, mode, short side, window,
# stride, iterations, dilations). Dilations larger than the image replicate its border.
PAMR_CASES = {
    "img_a.naclip.pamr": ("img_a", "naclip", 48, 0, 0, 10, (8, 16)),
    "img_b.sclip.w64.pamr": ("img_b", "sclip", 80, 64, 32, 3, (2, 5)),
    "img_a.maskclip.pamr": ("img_a", "maskclip", 48, 0, 0, 4, (1, 3, 40)),
}

# Synonyms and confidence (docs/DENSE-MODES.md section 2): the class lines below (11 queries for 5 classes); case
# name -> (image, mode, short side, window, stride, PAMR iterations, dilations, logit scale, prompt denoising). The
# minimum confidence is the 0.4 quantile of the case's own probabilities, so that it voids some pixels and not others.
SYNONYM_CLASSES = ["cat, kitten", "dog, puppy, hound", "tree", "sky, clouds", "person, man, woman"]
SYNONYM_CASES = {
    "img_a.naclip.syn.pamr": ("img_a", "naclip", 48, 0, 0, 10, (8, 16), 40.0, 0.0),
    "img_b.sclip.w64.syn": ("img_b", "sclip", 80, 64, 32, 0, (), 40.0, 0.0),
    "img_a.maskclip.syn": ("img_a", "maskclip", 48, 0, 0, 0, (), 100.0, 0.5),
}

# Another checkpoint's shape (docs/DENSE-MODES.md, "Other checkpoints"): ViT-L/14-336's geometry (patch 14, 16
# heads, a 24 x 24 grid) at a tiny width, with OpenCLIP's exact GELU. Fixtures/tiny-l14-336-gelu holds its
# config.json and model.safetensors (written by scripts/make_test_model.py --preset tiny-l14-336 --hidden-act gelu
# --dtype f16 --seed 0); its tokenizer files are tiny-clip's, copied in beside them. Case name -> (image, mode,
# short side, window, stride).
L14_MODEL = "tiny-l14-336-gelu"
L14_CASES = {
    "l14.img_a.maskclip": ("img_a", "maskclip", 120, 0, 0),        # a 9 x 12 grid: positions resized by size
    "l14.img_b.clearclip.w336": ("img_b", "clearclip", 336, 336, 224),  # 336 windows: the model's own 24 x 24 grid
    "l14.img_a.naclip": ("img_a", "naclip", 100, 0, 0),            # positions resized by scale factor
    "l14.img_c.sclip.w200": ("img_c", "sclip", 336, 200, 100),     # 200 windows cut to 196 (14 patches)
}

# SC-CLIP (docs/DENSE-MODES.md section 4): case name -> (model, image, short side, window, stride). tiny-12 has
# ViT-B/16's 12 blocks and 14 x 14 grid (the official block indices; 224 windows give 196 patches, 10 flagged);
# tiny-clip's 2 blocks and a 3 x 3 grid are the degenerate end (blocks clamped, k clamped to 8).
SCCLIP_CASES = {
    "scclip.tiny12.img_a": ("tiny-12", "img_a", 224, 0, 0),
    "scclip.tiny12.img_b.w224": ("tiny-12", "img_b", 224, 224, 112),
    "scclip.tiny.img_c": ("tiny-clip", "img_c", 48, 0, 0),
    "scclip.l14.img_a": (L14_MODEL, "img_a", 100, 0, 0),
}


def assembled_model(name):
    """Fixtures/<name> with tiny-clip's vocab.json and merges.txt beside it, in a temporary directory."""
    import shutil
    import tempfile
    folder = tempfile.mkdtemp(prefix=name + "-")
    for f in ("config.json", "model.safetensors"):
        shutil.copy(os.path.join(FIXTURES, name, f), folder)
    for f in ("vocab.json", "merges.txt"):
        shutil.copy(os.path.join(FIXTURES, "tiny-clip", f), folder)
    return folder


def tag(t):
    return f"{t:g}"


def setting_name(pd, ks):
    return f"pd{tag(pd)}.ks{tag(ks)}"


def draw_images(folder):
    """Three small synthetic images: smooth gradients plus hard-edged shapes, fixed seeds."""
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(1234)
    # img_a: 61 wide x 45 high RGB PNG
    y, x = np.mgrid[0:45, 0:61].astype(np.float64)
    a = np.stack([x / 60 * 255, y / 44 * 255, 128 + 100 * np.sin(x / 7 + y / 11)], -1)
    a[(x - 18) ** 2 + (y - 20) ** 2 < 100] = (250, 240, 30)             # disc
    a[28:41, 35:57] = (20, 60, 200)                                       # rectangle
    a[5:12, 40:58] = (240, 240, 240)
    a += rng.normal(0, 4, a.shape)
    Image.fromarray(np.clip(a + 0.5, 0, 255).astype(np.uint8), "RGB").save(os.path.join(folder, IMAGES["img_a"]))
    # img_b: 50 wide x 70 high RGB JPEG, quality 90
    y, x = np.mgrid[0:70, 0:50].astype(np.float64)
    b = np.stack([200 - (x + y) * 1.5, 60 + y * 2.5, 90 + 60 * np.cos(x / 5)], -1)
    b[((x // 6 + y // 6) % 2 == 0) & (y > 45)] = (30, 140, 40)           # checker band at the bottom
    b[(np.abs(x - 25) + np.abs(y - 22) < 12)] = (220, 40, 60)            # diamond
    b += rng.normal(0, 6, b.shape)
    Image.fromarray(np.clip(b + 0.5, 0, 255).astype(np.uint8), "RGB").save(
        os.path.join(folder, IMAGES["img_b"]), quality=90)
    # img_c: 33 x 33 grayscale PNG
    y, x = np.mgrid[0:33, 0:33].astype(np.float64)
    c = 255 * np.exp(-((x - 12) ** 2 + (y - 14) ** 2) / 120.0)
    c[22:30, 20:31] = 30
    c += rng.normal(0, 3, c.shape)
    Image.fromarray(np.clip(c + 0.5, 0, 255).astype(np.uint8), "L").save(os.path.join(folder, IMAGES["img_c"]))


def save(tensors, path, meta):
    """Write F32 tensors as safetensors with a sorted, byte-reproducible header (safetensors' own writer
    orders __metadata__ keys at random)."""
    header, blobs, offset = {"__metadata__": dict(sorted(meta.items()))}, [], 0
    for name in sorted(tensors):
        data = tensors[name].numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    os.chmod(path, 0o644)
    assert all(torch.equal(v, tensors[k]) for k, v in load_file(path).items())


def f32(t):
    return torch.as_tensor(t).detach().to(torch.float32).contiguous()


def text_goldens(w, tok, classes):
    out, info = {}, {}
    for name in ("single", "maskclip85", "imagenet80"):
        templates = ref.load_templates(name)
        T, ids, feats = ref.class_matrix(w, tok, classes, templates, return_details=True)
        err = ref.check_text_against_hf(w, ids, feats)
        info[name] = dict(templates=len(templates), hf_rel_err=err, T=T)
        out[f"T.{name}"] = f32(T)
        out[f"prompt_features.{name}"] = f32(feats)
        if name == "single":
            padded = [x + [0] * (ref.CONTEXT - len(x)) for x in ids]
            out["tokens.single"] = f32(torch.tensor(padded))
    return out, info


def case_goldens(w, T, rgb, preset, short, long_cap, keep_rgb):
    r = ref.label_image(w, T, rgb, short, long_cap, preset, settings=SETTINGS)
    out = {
        "input": r["input"], "pos_embedding": r["pos"], "hidden": r["hidden"], "key": r["key"],
        "features": r["features"], "logits": r["logits"],
        "logits.pd0.5": r["runs"][(0.5, 0.0)]["logits"],
        "scores.pd0.5.ks1": r["runs"][(0.5, 1.0)]["scores"],
        "scores.pd0.ks1": r["runs"][(0.0, 1.0)]["scores"],
    }
    if keep_rgb:
        out["rgb"] = torch.from_numpy(rgb)
    for pd, ks in SETTINGS:
        run = r["runs"][(pd, ks)]
        out[f"labels.{setting_name(pd, ks)}"] = run["labels"]
        out[f"margin.{setting_name(pd, ks)}"] = run["margin"]
    return {k: f32(v) for k, v in out.items()}, r


def mode_case_goldens(w, T, rgb, mode, short, window=0, stride=0, pamr_iterations=0, pamr_dilations=()):
    r = ref.label_image(w, T, rgb, short, 2048, "clip", pd=0.0, settings=[(0.0, 0.0)], mode=mode, window=window, stride=stride,
                        pamr_iterations=pamr_iterations, pamr_dilations=pamr_dilations)
    run = r["runs"][(0.0, 0.0)]
    out = {"input": r["input"], "logits": r["logits"], "labels": run["labels"], "margin": run["margin"]}
    if not window:
        out.update(pos_embedding=r["pos"], features=r["features"])
    m = run["margin"]
    notes = {"label_margin": {"min": float(m.min()), "below_1e-5": int((m < 1e-5).sum()),
                              "below_1e-3": int((m < 1e-3).sum()),
                              "classes_used": sorted(set(run["labels"].flatten().tolist()))}}
    return {k: f32(v) for k, v in out.items()}, r, notes


def synonym_case_goldens(w, tok, rgb, mode, short, window, stride, iterations, dilations, logit_scale, pd):
    _, queries, query_class = ref.parse_class_lines(SYNONYM_CLASSES)
    T = ref.class_matrix(w, tok, queries, ref.load_templates("maskclip85"))
    kwargs = dict(pd=pd, settings=[(pd, 0.0)], mode=mode, window=window, stride=stride, pamr_iterations=iterations,
                  pamr_dilations=dilations, query_class=query_class, logit_scale=logit_scale)
    free = ref.label_image(w, T, rgb, short, 2048, "clip", **kwargs)["runs"][(pd, 0.0)]
    threshold = round(float(torch.quantile(free["probability"].flatten(), 0.4)), 3)
    r = ref.label_image(w, T, rgb, short, 2048, "clip", min_confidence=threshold, **kwargs)
    run = r["runs"][(pd, 0.0)]
    out = {"T": T, "logits": r["logits"], "labels": run["labels"], "margin": run["margin"],
           "confidence": run["probability"] * 255, "labels.free": free["labels"], "margin.free": free["margin"]}
    m = run["margin"]
    notes = {"min_confidence": threshold, "void": int((run["labels"] == 255).sum()),
             "label_margin": {"min": float(m.min()), "below_1e-3": int((m < 1e-3).sum()),
                              "classes_used": sorted(set(run["labels"].flatten().tolist()))}}
    assert 0 < notes["void"] < m.numel(), "the threshold should void some pixels and not all"
    return {k: f32(v) for k, v in out.items()}, r, notes


def robustness(r):
    """How far this case's decisions are from the thresholds, so float32 code cannot flip them."""
    p = torch.softmax(100.0 * r["logits"], dim=1)
    class_max = p.max(dim=0).values
    notes = {"pd_class_max_prob": [round(v, 4) for v in class_max.tolist()],
             "pd_min_distance_to_0.5": float((class_max - 0.5).abs().min())}
    assert notes["pd_min_distance_to_0.5"] > 1e-3, "a class sits on the prompt-denoising threshold"
    for pd in (0.0, 0.5):
        pk = torch.softmax(100.0 * ref.prompt_denoise(r["logits"], pd), dim=1).max(dim=1).values
        notes[f"ks_rows_max_prob_ge_1-1e-6.pd{tag(pd)}"] = int((pk >= 1 - 1e-6).sum())
        notes[f"ks_rows_max_prob_eq_1.pd{tag(pd)}"] = int((pk == 1).sum())
        fragile = int(((pk >= 1 - 1e-6) & (pk < 1)).sum())
        assert fragile == 0, "a row sits on the key-smoothing threshold 1.0 (float32 could round it to 1)"
    for (pd, ks), run in r["runs"].items():
        m = run["margin"]
        notes[f"label_margin.{setting_name(pd, ks)}"] = {
            "min": float(m.min()), "below_1e-5": int((m < 1e-5).sum()), "below_1e-3": int((m < 1e-3).sum()),
            "classes_used": sorted(set(run["labels"].flatten().tolist()))}
    return notes


def sanity_check_layers(w):
    """Layers 0..L-2 against transformers' CLIPVisionModel at the native size (no position-embedding resize).

    Tolerance 1e-6, not float64 round-off: HF's eager attention takes its softmax in float32."""
    from transformers import CLIPModel
    hf = CLIPModel.from_pretrained(w.dir, dtype=w.dtype, attn_implementation="eager").eval()
    s = w.grid * w.patch
    x = torch.randn(3, s, s, generator=torch.Generator().manual_seed(7), dtype=w.dtype)
    ours = ref.dense_features(w, x, ref.vision_preset("clip", w))["pre_last"]
    theirs = hf.vision_model(pixel_values=x[None], output_hidden_states=True).hidden_states[-2][0]
    err = float((ours - theirs).abs().max() / theirs.abs().max())
    assert err < 1e-6, f"vision layers differ from transformers: {err:g}"
    return err


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=os.path.join(FIXTURES, "tiny-clip"))
    ap.add_argument("--out", default=os.path.join(FIXTURES, "golden"))
    ap.add_argument("--only", help="comma-separated case names to (re)write; the rest of report.json is kept")
    args = ap.parse_args()
    only = set(args.only.split(",")) if args.only else None
    torch.set_grad_enabled(False)
    images_dir = os.path.join(args.out, "images")
    if not all(os.path.exists(os.path.join(images_dir, f)) for f in IMAGES.values()):
        draw_images(images_dir)

    w = ref.CLIPWeights(args.model, torch.float64)
    tok = ref.Tokenizer(args.model)
    text, info = text_goldens(w, tok, CLASSES)
    meta = {"classes": ",".join(CLASSES), "dtype": "computed in float64, stored as F32"}
    report_path = os.path.join(args.out, "report.json")
    report = json.load(open(report_path)) if only else {}
    if not only or "text" in only:
        save(text, os.path.join(args.out, "text.safetensors"), meta)
    report.update({"vision_layers_vs_hf_rel_err": sanity_check_layers(w),
                   "text_vs_hf_rel_err": {k: v["hf_rel_err"] for k, v in info.items()}})
    T = info["maskclip85"]["T"]
    cases = ({k: v + (0, 0, 0, ()) for k, v in MODE_CASES.items()} | {k: v + (0, ()) for k, v in WINDOW_CASES.items()}
             | PAMR_CASES)
    for case, (image, mode, short, window, stride, iterations, dilations) in cases.items():
        if only and case not in only:
            continue
        rgb = ref.load_rgb(os.path.join(images_dir, IMAGES[image]))
        tensors, r, notes = mode_case_goldens(w, T, rgb, mode, short, window, stride, iterations, dilations)
        meta = dict(image=f"images/{IMAGES[image]}", mode=mode, preset="clip", short_side=str(short), long_side="2048",
                    window=str(window), stride=str(stride), pamr_iterations=str(iterations),
                    pamr_dilations=",".join(map(str, dilations)),
                    classes=",".join(CLASSES), templates="maskclip85", h=str(rgb.shape[0]), w=str(rgb.shape[1]),
                    nh=str(r["resized"][0]), nw=str(r["resized"][1]), gh=str(r["grid"][0]), gw=str(r["grid"][1]),
                    dtype="computed in float64, stored as F32")
        save(tensors, os.path.join(args.out, case + ".safetensors"), meta)
        report[case] = dict(meta, shapes={k: list(v.shape) for k, v in tensors.items()}, **notes)
    for case, (image, mode, short, window, stride, iterations, dilations, scale, pd) in SYNONYM_CASES.items():
        if only and case not in only:
            continue
        rgb = ref.load_rgb(os.path.join(images_dir, IMAGES[image]))
        tensors, r, notes = synonym_case_goldens(w, tok, rgb, mode, short, window, stride, iterations, dilations, scale, pd)
        meta = dict(image=f"images/{IMAGES[image]}", mode=mode, preset="clip", short_side=str(short), long_side="2048",
                    window=str(window), stride=str(stride), pamr_iterations=str(iterations),
                    pamr_dilations=",".join(map(str, dilations)), prompt_denoise=tag(pd), logit_scale=tag(scale),
                    min_confidence=tag(notes["min_confidence"]), classes="|".join(SYNONYM_CLASSES), templates="maskclip85",
                    h=str(rgb.shape[0]), w=str(rgb.shape[1]), dtype="computed in float64, stored as F32")
        save(tensors, os.path.join(args.out, case + ".safetensors"), meta)
        report[case] = dict(meta, shapes={k: list(v.shape) for k, v in tensors.items()}, **notes)
    l14_cases = [c for c in L14_CASES if not only or c in only]
    if l14_cases:
        w14 = ref.CLIPWeights(assembled_model(L14_MODEL), torch.float64)
        report[L14_MODEL] = {"vision_layers_vs_hf_rel_err": sanity_check_layers(w14)}
        T14, ids14, feats14 = ref.class_matrix(w14, ref.Tokenizer(w14.dir), CLASSES, ref.load_templates("maskclip85"),
                                               return_details=True)
        report[L14_MODEL]["text_vs_hf_rel_err"] = ref.check_text_against_hf(w14, ids14, feats14)
        for case in l14_cases:
            image, mode, short, window, stride = L14_CASES[case]
            rgb = ref.load_rgb(os.path.join(images_dir, IMAGES[image]))
            tensors, r, notes = mode_case_goldens(w14, T14, rgb, mode, short, window, stride)
            tensors["T"] = f32(T14)
            if window:  # the resized image and its averaged scores are megabytes; the labels are what is checked
                del tensors["logits"], tensors["input"]
            meta = dict(model=L14_MODEL, image=f"images/{IMAGES[image]}", mode=mode, short_side=str(short),
                        window=str(window), stride=str(stride), classes=",".join(CLASSES), templates="maskclip85",
                        h=str(rgb.shape[0]), w=str(rgb.shape[1]), nh=str(r["resized"][0]), nw=str(r["resized"][1]),
                        gh=str(r["grid"][0]), gw=str(r["grid"][1]), dtype="computed in float64, stored as F32")
            save(tensors, os.path.join(args.out, case + ".safetensors"), meta)
            report[case] = dict(meta, shapes={k: list(v.shape) for k, v in tensors.items()}, **notes)
    models = {}
    for case, (model, image, short, window, stride) in SCCLIP_CASES.items():
        if only and case not in only:
            continue
        if model not in models:
            wm = ref.CLIPWeights(assembled_model(model) if model != "tiny-clip" else args.model, torch.float64)
            models[model] = (wm, ref.class_matrix(wm, ref.Tokenizer(wm.dir), CLASSES, ref.load_templates("maskclip85")))
            report.setdefault(model, {})["vision_layers_vs_hf_rel_err"] = sanity_check_layers(wm)
        wm, Tm = models[model]
        rgb = ref.load_rgb(os.path.join(images_dir, IMAGES[image]))
        tensors, r, notes = mode_case_goldens(wm, Tm, rgb, "scclip", short, window, stride)
        tensors["T"] = f32(Tm)
        if window:
            del tensors["logits"], tensors["input"]
        else:
            flagged = r["flagged"]
            tensors["flagged"] = f32(flagged.to(torch.float64))
            notes["flagged"] = flagged.nonzero().flatten().tolist()
        meta = dict(model=model, image=f"images/{IMAGES[image]}", mode="scclip", short_side=str(short), window=str(window),
                    stride=str(stride), classes=",".join(CLASSES), templates="maskclip85", h=str(rgb.shape[0]),
                    w=str(rgb.shape[1]), nh=str(r["resized"][0]), nw=str(r["resized"][1]), gh=str(r["grid"][0]),
                    gw=str(r["grid"][1]), dtype="computed in float64, stored as F32")
        save(tensors, os.path.join(args.out, case + ".safetensors"), meta)
        report[case] = dict(meta, shapes={k: list(v.shape) for k, v in tensors.items()}, **notes)
    for case, (image, preset, short, long_cap) in CASES.items():
        if only and case not in only:
            continue
        rgb = ref.load_rgb(os.path.join(images_dir, IMAGES[image]))
        tensors, r = case_goldens(w, T, rgb, preset, short, long_cap, keep_rgb=(case == f"{image}.clip"))
        meta = dict(image=f"images/{IMAGES[image]}", preset=preset, short_side=str(short), long_side=str(long_cap),
                    classes=",".join(CLASSES), templates="maskclip85", h=str(rgb.shape[0]), w=str(rgb.shape[1]),
                    nh=str(r["resized"][0]), nw=str(r["resized"][1]), gh=str(r["grid"][0]), gw=str(r["grid"][1]),
                    dtype="computed in float64, stored as F32")
        save(tensors, os.path.join(args.out, case + ".safetensors"), meta)
        report[case] = dict(meta, shapes={k: list(v.shape) for k, v in tensors.items()}, **robustness(r))
    with open(report_path, "w") as f:
        json.dump(report, f, indent=1)
        f.write("\n")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
