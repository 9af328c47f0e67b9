#!/usr/bin/env python3
"""PyTorch eager fp32 CPU baseline for labelmill's encoder timings (2 threads).

    /root/mlvenv/bin/python scripts/bench_torch.py --model /root/models/b16 [--size 448] [--runs 10] [--mode M]

Image path, timed: S x S random input (already normalised) -> patch conv -> class token + bicubic-resized position
embedding -> pre-LN -> layers 0..L-2 -> MaskCLIP last layer (v path + residual + MLP; no key path, i.e. key
smoothing off) -> post-LN -> drop class token -> projection -> L2 normalise -> logits against a random [21, E]
class matrix. No image decoding, no prompt denoising, no upsampling.
Implementation: what HF's CLIP does in eager mode: separate q/k/v F.linear, F.scaled_dot_product_attention,
F.layer_norm, quick_gelu as x*sigmoid(1.702x), under torch.inference_mode.

--mode clearclip | sclip | naclip times the other dense modes' last block instead (docs/DENSE-MODES.md), written as
a PyTorch user would with F.scaled_dot_product_attention: ClearCLIP SDPA(q, q, v) without residual or MLP; SCLIP
SDPA(q, q, v) + SDPA(k, k, v) with residual and MLP; NACLIP SDPA(k, k, v, attn_mask = the Gaussian neighbourhood
prior) without residual or MLP; SC-CLIP the reference's own float32 code (scripts/reference.py, scclip_block).
Their position embeddings are resized by the scale factor (g + 0.1) / G.

--pipeline DIR times instead what `labelmill bench pipeline` times, as a PyTorch user would write it, one image after
another: Pillow decodes each JPEG/PNG of DIR, the reference's preprocessing resizes (bilinear) so the short side is
--size and normalises, the MaskCLIP image path above gives the logits against 21 random classes (no prompt
denoising), F.interpolate brings them bilinearly to the resized and then the original size, argmax, and Pillow
encodes the palette PNG. Prints images/s over --runs passes (after one warm-up image) and the peak RSS.

Text path, timed: the class matrix of 21 classes (PASCAL VOC + background) x 85 templates (maskclip85), one batch
of 85 prompts per class, padded to 77 like HF (text_ms) and, for comparison, to the longest prompt of the batch
(text_trimmed_ms; same result thanks to the causal mask). Tokenisation is done before timing.
Prints per-run times, the medians, and a final JSON line.
"""
import argparse
import glob
import io
import json
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference as ref  # noqa: E402  (weights loading, tokenizer, templates only)

VOC21 = ["background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
         "dining table", "dog", "horse", "motorbike", "person", "potted plant", "sheep", "sofa", "train",
         "tv monitor"]


def act_fn(kind):
    if kind == "quick_gelu":
        return lambda x: x * torch.sigmoid(1.702 * x)
    return F.gelu


def ln(x, w, prefix, eps):
    return F.layer_norm(x, x.shape[-1:], w[prefix + ".weight"], w[prefix + ".bias"], eps)


def lin(x, w, prefix, bias=True):
    return F.linear(x, w[prefix + ".weight"], w[prefix + ".bias"] if bias else None)


def attn(x, w, prefix, heads, causal):
    b, n, d = x.shape
    hd = d // heads
    q, k, v = (lin(x, w, f"{prefix}.{p}_proj").view(b, n, heads, hd).transpose(1, 2) for p in "qkv")
    o = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    return lin(o.transpose(1, 2).reshape(b, n, d), w, prefix + ".out_proj")


def layer(x, w, prefix, tower, act, causal=False):
    x = x + attn(ln(x, w, prefix + ".layer_norm1", tower.eps), w, prefix + ".self_attn", tower.heads, causal)
    return x + lin(act(lin(ln(x, w, prefix + ".layer_norm2", tower.eps), w, prefix + ".mlp.fc1")), w,
                   prefix + ".mlp.fc2")


def neighbourhood_prior(gh, gw, dtype, sigma=5.0):
    """NACLIP's Gaussian over grid distance between patch tokens, 0 in the class token's row and column."""
    ys, xs = torch.meshgrid(torch.arange(gh), torch.arange(gw), indexing="ij")
    c = torch.stack([ys.flatten(), xs.flatten()], dim=1).to(dtype)
    omega = torch.zeros(gh * gw + 1, gh * gw + 1, dtype=dtype)
    omega[1:, 1:] = torch.exp(-torch.cdist(c, c) ** 2 / (2 * sigma ** 2))
    return omega


def last_block(h, w, prefix, V, act, mode, prior):
    """The last block in `mode` (docs/DENSE-MODES.md, section 1)."""
    y = ln(h, w, prefix + ".layer_norm1", V.eps)
    if mode == "maskclip":  # v path + residual, then the MLP
        z = h + lin(lin(y, w, prefix + ".self_attn.v_proj"), w, prefix + ".self_attn.out_proj")
        return z + lin(act(lin(ln(z, w, prefix + ".layer_norm2", V.eps), w, prefix + ".mlp.fc1")), w, prefix + ".mlp.fc2")
    b, n, d = y.shape
    hd = d // V.heads
    q, k, v = (lin(y, w, f"{prefix}.self_attn.{p}_proj").view(b, n, V.heads, hd).transpose(1, 2) for p in "qkv")
    if mode == "clearclip":
        o = F.scaled_dot_product_attention(q, q, v)
    elif mode == "sclip":
        o = F.scaled_dot_product_attention(q, q, v) + F.scaled_dot_product_attention(k, k, v)
    else:  # naclip
        o = F.scaled_dot_product_attention(k, k, v, attn_mask=prior)
    z = lin(o.transpose(1, 2).reshape(b, n, d), w, prefix + ".self_attn.out_proj")
    if mode != "sclip":
        return z
    z = h + z
    return z + lin(act(lin(ln(z, w, prefix + ".layer_norm2", V.eps), w, prefix + ".mlp.fc1")), w, prefix + ".mlp.fc2")


def image_logits(w, x, T, mode="maskclip"):
    """x [1, 3, S, S] normalised -> logits [gh*gw, K]."""
    V, P, act = w.vision, w.patch, act_fn(w.vision.act)
    t = F.conv2d(x, w["vision_model.embeddings.patch_embedding.weight"], stride=P)
    gh, gw = t.shape[2:]
    t = t.flatten(2).transpose(1, 2)                                                  # [1, HW, D]
    pos = w["vision_model.embeddings.position_embedding.weight"]
    grid = pos[1:].reshape(1, w.grid, w.grid, -1).permute(0, 3, 1, 2)
    if mode == "maskclip" or (gh, gw) == (w.grid, w.grid):
        grid = F.interpolate(grid, size=(gh, gw), mode="bicubic", align_corners=False) if mode == "maskclip" else grid
    else:
        grid = F.interpolate(grid, scale_factor=((gh + 0.1) / w.grid, (gw + 0.1) / w.grid), mode="bicubic",
                             align_corners=False)
    grid = grid.flatten(2).transpose(1, 2)
    cls = (w["vision_model.embeddings.class_embedding"] + pos[0]).expand(1, 1, -1)
    h = torch.cat([cls, t + grid], dim=1)
    h = ln(h, w, "vision_model.pre_layrnorm", V.eps)
    outputs = [h[0]]
    for i in range(V.layers - 1):
        h = layer(h, w, f"vision_model.encoder.layers.{i}", V, act)
        if mode == "scclip":
            outputs.append(h[0])
    if mode == "scclip":
        z = ref.scclip_block(w, outputs, ref.vision_preset("clip", w), (gh, gw))
        z = ln(z, w, "vision_model.post_layernorm", V.eps)
        f = F.normalize(F.linear(z, w["visual_projection.weight"]), dim=-1)
        return f @ T.T
    prior = neighbourhood_prior(gh, gw, h.dtype) if mode == "naclip" else None
    z = last_block(h, w, f"vision_model.encoder.layers.{V.layers - 1}", V, act, mode, prior)
    z = ln(z, w, "vision_model.post_layernorm", V.eps)[0, 1:]
    f = F.normalize(F.linear(z, w["visual_projection.weight"]), dim=-1)
    return f @ T.T


def text_class_matrix(w, batches):
    """batches: per class, int64 [85, L] token ids (EOT-padded) -> T [K, E]."""
    Tw, act = w.text, act_fn(w.text.act)
    rows = []
    for ids in batches:
        n = ids.shape[1]
        x = F.embedding(ids, w["text_model.embeddings.token_embedding.weight"])
        x = x + w["text_model.embeddings.position_embedding.weight"][:n]
        for i in range(Tw.layers):
            x = layer(x, w, f"text_model.encoder.layers.{i}", Tw, act, causal=True)
        x = ln(x, w, "text_model.final_layer_norm", Tw.eps)
        eot = (ids == ref.EOT).int().argmax(dim=1)                                     # first <|endoftext|>
        e = F.normalize(F.linear(x[torch.arange(ids.shape[0]), eot], w["text_projection.weight"]), dim=-1)
        rows.append(F.normalize(e.mean(0), dim=-1))
    return torch.stack(rows)


def pipeline(w, files, T, short, runs):
    """Images per second of decode -> resize -> encoder -> head -> upsample -> argmax -> PNG, one after another."""
    from PIL import Image

    preset = ref.vision_preset("clip", w)
    palette = [c for i in range(256) for c in ((i * 37) % 256, (i * 91) % 256, (i * 53) % 256)]

    def one(path):
        with Image.open(path) as im:
            rgb = torch.from_numpy(__import__("numpy").asarray(im.convert("RGB")).copy())
        h, wd = rgb.shape[:2]
        x, resized = ref.preprocess(rgb.numpy(), short, 2048, preset, w.patch, torch.float32)
        logits = image_logits(w, x[None], T)                                          # [gh*gw, K]
        gh, gw = x.shape[1] // w.patch, x.shape[2] // w.patch
        s = logits.T.reshape(1, -1, gh, gw)
        s = F.interpolate(s, size=resized, mode="bilinear", align_corners=False)
        s = F.interpolate(s, size=(h, wd), mode="bilinear", align_corners=False)[0]
        labels = s.argmax(0).to(torch.uint8).numpy()
        out = Image.fromarray(labels, mode="P")
        out.putpalette(palette)
        buffer = io.BytesIO()
        out.save(buffer, format="PNG")
        return buffer.getvalue()

    one(files[0])
    start = time.perf_counter()
    for _ in range(runs):
        for path in files:
            one(path)
    return runs * len(files) / (time.perf_counter() - start)


def timed(fn, runs, warmup):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    return times


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--size", type=int, default=448)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--text-runs", type=int, default=1, help="0 skips the text timing (one run is minutes)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--mode", choices=["maskclip", "clearclip", "sclip", "naclip", "scclip"], default="maskclip")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pipeline", metavar="DIR", help="time the whole image pipeline on the photos of DIR instead")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    w = ref.CLIPWeights(args.model, torch.float32)
    tok = ref.Tokenizer(args.model)
    E = w["visual_projection.weight"].shape[0]
    T = F.normalize(torch.randn(len(VOC21), E), dim=-1)
    if args.pipeline:
        files = sorted(f for f in glob.glob(os.path.join(args.pipeline, "**", "*"), recursive=True)
                       if f.lower().endswith((".jpg", ".jpeg", ".png")))
        with torch.inference_mode():
            rate = pipeline(w, files, T, args.size, args.runs)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"pipeline: {len(files)} photos x {args.runs} passes, short side {args.size}: {rate:.2f} images/s, "
              f"peak RSS {rss:.0f} MiB")
        print(json.dumps({"images_per_second": round(rate, 3), "peak_rss_mib": round(rss, 1), "torch": torch.__version__,
                          "attention": "F.scaled_dot_product_attention", "threads": args.threads, "images": len(files),
                          "passes": args.runs}))
        return
    x = torch.randn(1, 3, args.size, args.size)
    templates = ref.load_templates("maskclip85")
    ids = [[tok.encode(t.format(c)) for t in templates] for c in VOC21]
    full = [torch.tensor([s + [ref.EOT] * (ref.CONTEXT - len(s)) for s in b]) for b in ids]
    trimmed = [torch.tensor([s + [ref.EOT] * (max(map(len, b)) - len(s)) for s in b]) for b in ids]

    with torch.inference_mode():
        same = torch.allclose(text_class_matrix(w, full[:1]), text_class_matrix(w, trimmed[:1]), atol=1e-5)
        assert same, "padding changed the class embedding"  # also serves as the text warm-up
        img = timed(lambda: image_logits(w, x, T, args.mode), args.runs, args.warmup)
        txt = timed(lambda: text_class_matrix(w, full), args.text_runs, 0) or [float("nan")]
        txt_trim = timed(lambda: text_class_matrix(w, trimmed), args.text_runs, 0) or [float("nan")]

    g = args.size // w.patch
    med = statistics.median(img)
    print(f"image {args.size}x{args.size} ({g}x{g} grid, {g * g + 1} tokens): "
          + " ".join(f"{t:.0f}" for t in img) + f" ms; median {med:.1f} ms")
    print(f"text {len(VOC21)} classes x {len(templates)} templates, padded to 77: "
          + " ".join(f"{t:.0f}" for t in txt) + f" ms; median {statistics.median(txt):.1f} ms")
    print("text, padded to the longest prompt per class: "
          + " ".join(f"{t:.0f}" for t in txt_trim) + f" ms; median {statistics.median(txt_trim):.1f} ms")
    print(json.dumps({"encoder_ms": round(med, 2), "mode": args.mode, "size": args.size, "threads": args.threads,
                      "torch": torch.__version__, "text_ms": round(statistics.median(txt), 2),
                      "text_trimmed_ms": round(statistics.median(txt_trim), 2), "runs": args.runs,
                      "attention": "F.scaled_dot_product_attention", "dtype": "float32"}))


if __name__ == "__main__":
    main()
