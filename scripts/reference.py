#!/usr/bin/env python3
"""Independent reference implementation of docs/maskclip.md (sections 2-6) and of the whole-image path of the
other dense modes of docs/DENSE-MODES.md (clearclip, sclip, naclip), in PyTorch, float64 by default.

The image side is built from the raw safetensors weights with plain tensor ops, step by step as the spec writes
it; transformers is used only for the tokenizer (checked against the spec's test vectors) and, as a sanity
assertion, to recompute some prompt embeddings with CLIPModel.get_text_features.

    /root/mlvenv/bin/python scripts/reference.py --model DIR --classes cat,dog,sky \
        [--templates maskclip85|single|FILE] [--short-side 512] [--long-side 2048] \
        [--prompt-denoise 0.5] [--key-smoothing 0] [--preset clip|reference] [--dtype float64|float32] \
        [--mode maskclip|clearclip|sclip|naclip|scclip] \
        --out OUT_DIR IMAGE...

Writes OUT_DIR/<stem>.png: 8-bit palette PNGs (PASCAL VOC palette), pixel value = class index.
"""
import argparse
import json
import math
import os
import sys
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors import safe_open

# CLIP's 80 ImageNet templates, in the order published with CLIP (Prompt_Engineering_for_ImageNet.ipynb).
IMAGENET_TEMPLATES = [
    "a bad photo of a {}.", "a photo of many {}.", "a sculpture of a {}.", "a photo of the hard to see {}.",
    "a low resolution photo of the {}.", "a rendering of a {}.", "graffiti of a {}.", "a bad photo of the {}.",
    "a cropped photo of the {}.", "a tattoo of a {}.", "the embroidered {}.", "a photo of a hard to see {}.",
    "a bright photo of a {}.", "a photo of a clean {}.", "a photo of a dirty {}.", "a dark photo of the {}.",
    "a drawing of a {}.", "a photo of my {}.", "the plastic {}.", "a photo of the cool {}.",
    "a close-up photo of a {}.", "a black and white photo of the {}.", "a painting of the {}.",
    "a painting of a {}.", "a pixelated photo of the {}.", "a sculpture of the {}.", "a bright photo of the {}.",
    "a cropped photo of a {}.", "a plastic {}.", "a photo of the dirty {}.", "a jpeg corrupted photo of a {}.",
    "a blurry photo of the {}.", "a photo of the {}.", "a good photo of the {}.", "a rendering of the {}.",
    "a {} in a video game.", "a photo of one {}.", "a doodle of a {}.", "a close-up photo of the {}.",
    "a photo of a {}.", "the origami {}.", "the {} in a video game.", "a sketch of a {}.", "a doodle of the {}.",
    "a origami {}.", "a low resolution photo of a {}.", "the toy {}.", "a rendition of the {}.",
    "a photo of the clean {}.", "a photo of a large {}.", "a rendition of a {}.", "a photo of a nice {}.",
    "a photo of a weird {}.", "a blurry photo of a {}.", "a cartoon {}.", "art of a {}.", "a sketch of the {}.",
    "a embroidered {}.", "a pixelated photo of a {}.", "itap of the {}.", "a jpeg corrupted photo of the {}.",
    "a good photo of a {}.", "a plushie {}.", "a photo of the nice {}.", "a photo of the small {}.",
    "a photo of the weird {}.", "the cartoon {}.", "art of the {}.", "a drawing of the {}.",
    "a photo of the large {}.", "a black and white photo of a {}.", "the plushie {}.", "a dark photo of a {}.",
    "itap of a {}.", "graffiti of the {}.", "a toy {}.", "itap of my {}.", "a photo of a cool {}.",
    "a photo of a small {}.", "a tattoo of the {}.",
]
SCENE_TEMPLATES = [
    "there is a {} in the scene.", "there is the {} in the scene.", "this is a {} in the scene.",
    "this is the {} in the scene.", "this is one {} in the scene.",
]
TEMPLATE_SETS = {"maskclip85": IMAGENET_TEMPLATES + SCENE_TEMPLATES, "imagenet80": IMAGENET_TEMPLATES,
                 "single": ["a photo of a {}."]}
assert len(IMAGENET_TEMPLATES) == 80 and len(set(IMAGENET_TEMPLATES)) == 80

SOT, EOT, CONTEXT = 49406, 49407, 77
TOKENIZER_VECTORS = {  # docs/maskclip.md section 2
    "a photo of a cat.": [49406, 320, 1125, 539, 320, 2368, 269, 49407],
    "a bad photo of a airplane.": [49406, 320, 2103, 1125, 539, 320, 16451, 269, 49407],
    "a photo of a tv monitor.": [49406, 320, 1125, 539, 320, 1583, 10198, 269, 49407],
    "there is a potted plant in the scene.": [49406, 997, 533, 320, 48581, 3912, 530, 518, 3562, 269, 49407],
    "itap of my dining table.": [49406, 529, 2728, 539, 607, 8658, 2175, 269, 49407],
    "a photo of a Dog.": [49406, 320, 1125, 539, 320, 1929, 269, 49407],
}

CLIP_MEAN = tuple(255.0 * m for m in (0.48145466, 0.4578275, 0.40821073))
CLIP_STD = tuple(255.0 * s for s in (0.26862954, 0.26130258, 0.27577711))
IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)


def voc_palette():
    """The PASCAL VOC colour map: bits of the index spread over the high bits of R, G, B."""
    pal = []
    for i in range(256):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        pal += [r, g, b]
    return pal


# ----------------------------------------------------------------------------------------------- model files

@dataclass
class Tower:
    width: int
    layers: int
    heads: int
    act: str
    eps: float


class CLIPWeights:
    """config.json + model.safetensors of a Hugging Face CLIP directory, tensors converted to `dtype`."""

    def __init__(self, model_dir, dtype=torch.float64):
        self.dir = model_dir
        self.dtype = dtype
        with open(os.path.join(model_dir, "config.json")) as f:
            cfg = json.load(f)
        v, t = cfg["vision_config"], cfg["text_config"]
        self.vision = Tower(v["hidden_size"], v["num_hidden_layers"], v["num_attention_heads"],
                            v.get("hidden_act", "quick_gelu"), v.get("layer_norm_eps", 1e-5))
        self.text = Tower(t["hidden_size"], t["num_hidden_layers"], t["num_attention_heads"],
                          t.get("hidden_act", "quick_gelu"), t.get("layer_norm_eps", 1e-5))
        self.patch = v["patch_size"]
        self.grid = v["image_size"] // v["patch_size"]
        self.t = {}
        with safe_open(os.path.join(model_dir, "model.safetensors"), framework="pt") as f:
            for name in f.keys():
                if not name.endswith("position_ids"):
                    self.t[name] = f.get_tensor(name).to(dtype)

    def __getitem__(self, name):
        return self.t[name]


def linear(x, w, prefix, bias=True):
    """y = x Wᵀ + b with HF names `prefix.weight [out, in]`, `prefix.bias [out]`."""
    y = x @ w[prefix + ".weight"].T
    return y + w[prefix + ".bias"] if bias else y


def layer_norm(x, w, prefix, eps):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * w[prefix + ".weight"] + w[prefix + ".bias"]


def activation(x, kind):
    if kind == "quick_gelu":
        return x * torch.sigmoid(1.702 * x)
    if kind == "gelu":  # exact erf GELU
        return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))
    raise ValueError(f"unsupported hidden_act {kind!r}")


def mlp(x, w, prefix, act):
    return linear(activation(linear(x, w, prefix + ".fc1"), act), w, prefix + ".fc2")


def attention(x, w, prefix, heads, causal):
    """Multi-head self-attention over x [N, D] (one sequence), HF CLIPAttention semantics."""
    n, d = x.shape
    hd = d // heads
    q = linear(x, w, prefix + ".q_proj").reshape(n, heads, hd).transpose(0, 1) * hd ** -0.5
    k = linear(x, w, prefix + ".k_proj").reshape(n, heads, hd).transpose(0, 1)
    v = linear(x, w, prefix + ".v_proj").reshape(n, heads, hd).transpose(0, 1)
    s = q @ k.transpose(1, 2)                                   # [heads, N, N]
    if causal:
        s = s.masked_fill(torch.ones(n, n, dtype=torch.bool).triu(1), float("-inf"))
    o = torch.softmax(s, dim=-1) @ v                            # [heads, N, hd]
    return linear(o.transpose(0, 1).reshape(n, d), w, prefix + ".out_proj")


def block(x, w, prefix, tower, causal=False, act=None, eps=None):
    act = act or tower.act
    eps = tower.eps if eps is None else eps
    x = x + attention(layer_norm(x, w, prefix + ".layer_norm1", eps), w, prefix + ".self_attn", tower.heads, causal)
    return x + mlp(layer_norm(x, w, prefix + ".layer_norm2", eps), w, prefix + ".mlp", act)


# --------------------------------------------------------------------------------------------------- text side

class Tokenizer:
    """transformers' CLIPTokenizer from the model directory, checked against the spec's test vectors."""

    def __init__(self, model_dir):
        from transformers import CLIPTokenizer
        self.tok = CLIPTokenizer.from_pretrained(model_dir)
        for text, ids in TOKENIZER_VECTORS.items():
            got = self.encode(text)
            assert got == ids, f"tokenizer: {text!r} -> {got}, spec says {ids}"

    def encode(self, text):
        ids = self.tok(text)["input_ids"]
        assert ids[0] == SOT and ids[-1] == EOT
        if len(ids) > CONTEXT:
            raise ValueError(f"{text!r} is {len(ids)} tokens, more than {CONTEXT}")
        return ids


def load_templates(spec):
    if spec in TEMPLATE_SETS:
        return list(TEMPLATE_SETS[spec])
    with open(spec, encoding="utf-8") as f:
        lines = [line.strip() for line in f if line.strip()]
    for line in lines:
        assert "{}" in line, f"template without {{}}: {line!r}"
    return lines


def encode_text(w, token_ids):
    """Projected text embeddings [B, E] of token sequences, each [SOT ... EOT].

    Each sequence runs over its real tokens only: with the causal mask, positions after <|endoftext|> cannot
    change the row that is read, so this equals the padded-to-77 computation."""
    out = []
    for ids in token_ids:
        x = w["text_model.embeddings.token_embedding.weight"][torch.tensor(ids)]
        x = x + w["text_model.embeddings.position_embedding.weight"][: len(ids)]
        for i in range(w.text.layers):
            x = block(x, w, f"text_model.encoder.layers.{i}", w.text, causal=True)
        x = layer_norm(x, w, "text_model.final_layer_norm", w.text.eps)
        out.append(x[ids.index(EOT)])
    return torch.stack(out) @ w["text_projection.weight"].T


def parse_class_lines(lines):
    """Class lines as a classes file gives them: "name, synonym, ..." (docs/DENSE-MODES.md §2). Returns the class
    names, the queries (every class's name, then its synonyms, class after class) and each query's class."""
    names, queries, query_class = [], [], []
    for line in lines:
        fields = [f.strip() for f in line.split(",")]
        if fields == [""]:
            continue
        names.append(fields[0])
        queries += fields
        query_class += [len(names) - 1] * len(fields)
    return names, queries, query_class


def class_matrix(w, tokenizer, classes, templates, return_details=False):
    """T [K, E] (one row per query: pass the queries to embed synonyms): per query, L2-normalise each template's
    embedding, average, L2-normalise again."""
    rows, prompt_ids, prompt_feats = [], [], []
    for c in classes:
        ids = [tokenizer.encode(t.format(c)) for t in templates]
        e = encode_text(w, ids)
        prompt_ids += ids
        prompt_feats.append(e)
        e = e / e.norm(dim=-1, keepdim=True)
        m = e.mean(0)
        rows.append(m / m.norm())
    T = torch.stack(rows)
    if return_details:
        return T, prompt_ids, torch.cat(prompt_feats)
    return T


def check_text_against_hf(w, prompt_ids, feats, limit=None):
    """Sanity assertion: our text encoder == transformers' CLIPModel.get_text_features (padded to 77)."""
    from transformers import CLIPModel
    model = CLIPModel.from_pretrained(w.dir, dtype=w.dtype, attn_implementation="eager").eval()
    ids = prompt_ids[:limit] if limit else prompt_ids
    batch = torch.tensor([x + [EOT] * (CONTEXT - len(x)) for x in ids])
    mask = torch.tensor([[1] * len(x) + [0] * (CONTEXT - len(x)) for x in ids])
    with torch.no_grad():
        hf = model.get_text_features(input_ids=batch, attention_mask=mask).pooler_output
    ours = feats[: len(ids)]
    err = ((hf - ours).abs().max() / ours.abs().max()).item()
    tol = 1e-6 if w.dtype == torch.float64 else 1e-4  # HF's eager attention takes its softmax in float32
    assert err < tol, f"text encoder differs from transformers: max rel err {err:g}"
    return err


# -------------------------------------------------------------------------------------------------- image side

@dataclass
class Preset:
    name: str
    act: str       # vision MLP activation
    eps: float     # vision LayerNorm eps
    mean: tuple
    std: tuple


def vision_preset(name, w):
    if name == "clip":
        return Preset("clip", w.vision.act, w.vision.eps, CLIP_MEAN, CLIP_STD)
    if name == "reference":
        return Preset("reference", "gelu", 1e-6, IMAGENET_MEAN, IMAGENET_STD)
    raise ValueError(name)


def load_rgb(path):
    """Decoded RGB uint8 [h, w, 3]; EXIF orientation ignored (PIL does not apply it)."""
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()


def resized_size(h, w, short, long_cap):
    s = min(long_cap / max(h, w), short / min(h, w))
    return int(h * s + 0.5), int(w * s + 0.5)


def preprocess(rgb, short, long_cap, preset, patch, dtype, mode="maskclip", whole_patches=True):
    """uint8 [h,w,3] -> normalised input [3, H', W'] of whole patches and the resized size (nh, nw): zero-padded
    at the bottom and right (maskclip), or cut down to whole patches as the newer modes' patch convolution does
    (docs/DENSE-MODES.md, "Geometry"; a side shorter than a patch is still padded to one)."""
    h, w = rgb.shape[:2]
    nh, nw = resized_size(h, w, short, long_cap)
    x = torch.from_numpy(rgb).to(dtype).permute(2, 0, 1)[None]            # [1,3,h,w], values 0..255
    x = F.interpolate(x, size=(nh, nw), mode="bilinear", align_corners=False, antialias=False)[0]
    mean = torch.tensor(preset.mean, dtype=dtype)[:, None, None]
    std = torch.tensor(preset.std, dtype=dtype)[:, None, None]
    x = (x - mean) / std
    if not whole_patches:                                                    # the source of sliding windows
        return x, (nh, nw)
    if mode != "maskclip":
        x = x[:, : max(1, nh // patch) * patch, : max(1, nw // patch) * patch]
    ph, pw = -x.shape[1] % patch, -x.shape[2] % patch
    x = F.pad(x, (0, pw, 0, ph))                                            # bottom/right, zeros
    return x, (nh, nw)


def resized_position_embedding(w, gh, gw):
    """[1 + gh*gw, D]: class row unchanged, the G x G grid resized bicubic (A = -0.75), align_corners=False."""
    pos = w["vision_model.embeddings.position_embedding.weight"]
    g, d = w.grid, pos.shape[1]
    grid = pos[1:].reshape(g, g, d).permute(2, 0, 1)[None]                  # [1, D, G, G]
    grid = F.interpolate(grid, size=(gh, gw), mode="bicubic", align_corners=False)
    return torch.cat([pos[:1], grid[0].permute(1, 2, 0).reshape(gh * gw, d)])


def scaled_position_embedding(w, gh, gw):
    """The newer modes' resize: unchanged on the checkpoint's own G x G grid, else bicubic by scale_factor
    ((gh + 0.1) / G, (gw + 0.1) / G), which samples x_src = (x_dst + 0.5) G / (g + 0.1) - 0.5."""
    pos = w["vision_model.embeddings.position_embedding.weight"]
    g, d = w.grid, pos.shape[1]
    if (gh, gw) == (g, g):
        return pos
    grid = pos[1:].reshape(g, g, d).permute(2, 0, 1)[None]
    grid = F.interpolate(grid, scale_factor=((gh + 0.1) / g, (gw + 0.1) / g), mode="bicubic", align_corners=False)
    assert tuple(grid.shape[-2:]) == (gh, gw), grid.shape
    return torch.cat([pos[:1], grid[0].permute(1, 2, 0).reshape(gh * gw, d)])


def neighbourhood_prior(gh, gw, dtype, sigma=5.0):
    """NACLIP's omega [1 + gh*gw, 1 + gh*gw]: exp(-|p_i - p_j|^2 / (2 sigma^2)) between patches, 0 for the class token."""
    r, c = torch.meshgrid(torch.arange(gh, dtype=dtype), torch.arange(gw, dtype=dtype), indexing="ij")
    p = torch.stack([r.flatten(), c.flatten()], 1)
    d2 = ((p[:, None, :] - p[None, :, :]) ** 2).sum(-1)
    omega = torch.zeros(1 + gh * gw, 1 + gh * gw, dtype=dtype)
    omega[1:, 1:] = torch.exp(-d2 / (2 * sigma ** 2))
    return omega


def last_block(w, h, mode, preset, grid):
    """The last block as `mode` changes it (docs/DENSE-MODES.md section 1), on the full sequence h [1+HW, D]."""
    V = w.vision
    last = f"vision_model.encoder.layers.{V.layers - 1}"
    n, d = h.shape
    heads, hd = V.heads, d // V.heads
    y = layer_norm(h, w, last + ".layer_norm1", preset.eps)
    q, k, v = (linear(y, w, f"{last}.self_attn.{name}_proj").reshape(n, heads, hd).transpose(0, 1) for name in "qkv")
    s = hd ** -0.5

    def weights(a, b, bias=0.0):
        return torch.softmax(s * (a @ b.transpose(1, 2)) + bias, dim=-1)          # [heads, N, N], rows sum to 1

    if mode == "clearclip":
        a = weights(q, q)
    elif mode == "sclip":
        a = weights(q, q) + weights(k, k)
    elif mode == "naclip":
        a = weights(k, k, neighbourhood_prior(*grid, h.dtype))
    else:
        raise ValueError(f"unknown mode {mode!r}")
    attn = linear((a @ v).transpose(0, 1).reshape(n, d), w, last + ".self_attn.out_proj")
    if mode != "sclip":
        return attn                                                                # no residual, no MLP
    z = h + attn
    return z + mlp(layer_norm(z, w, last + ".layer_norm2", preset.eps), w, last + ".mlp", preset.act)


def scclip_layers(depth):
    """The blocks (1-based) SC-CLIP reads: S_mid's source, S_post's source, the multi-level sum's blocks, and the
    class token's weight. ViT-B/16 (12 blocks) and ViT-L/14 (24) as the official code has them; other depths scale
    ViT-B/16's, rounding half up, within 1..depth-1."""
    if depth == 24:
        return 17, 7, range(9, 20), 0.1

    def clamp(b):
        return min(max(b, 1), depth - 1)
    pre, post = clamp((9 * depth + 6) // 12), clamp((4 * depth + 6) // 12)
    return pre, post, range(post, max(post, depth - 2) + 1), 0.3


def lof_outliers(p, k=30):
    """SC-CLIP's outlier flags over tokens p [N, D] (docs/DENSE-MODES.md section 4): kd_i = squared L2 distance to
    the k-th nearest other token (k at most N - 1), score_i = mean of kd_i / kd_j over those k neighbours j, flagged
    where score_i > the 0.95 quantile of the scores (linear interpolation)."""
    n = p.shape[0]
    k = min(k, n - 1)
    d = torch.cdist(p, p) ** 2
    d.fill_diagonal_(float("inf"))
    nd, nbr = torch.sort(d, dim=1)
    kd = nd[:, k - 1]
    score = (kd[:, None] / kd[nbr[:, :k]]).mean(1)
    return score > torch.quantile(score, 0.95)


def repair(p, flagged, gh, gw):
    """Each flagged token of the gh x gw grid (row-major) becomes the mean of its non-flagged 8-neighbours (kept as
    it is when it has none); all from the tokens as they were."""
    out = p.clone()
    for i in flagged.nonzero().flatten().tolist():
        r, c = divmod(i, gw)
        near = [(r + dr) * gw + c + dc for dr in (-1, 0, 1) for dc in (-1, 0, 1)
                if (dr, dc) != (0, 0) and 0 <= r + dr < gh and 0 <= c + dc < gw and not flagged[(r + dr) * gw + c + dc]]
        if near:
            out[i] = p[near].mean(0)
    return out


def cosine(p):
    u = p / p.norm(dim=-1, keepdim=True)
    return u @ u.T


def scclip_block(w, outputs, preset, grid):
    """SC-CLIP's last block (docs/DENSE-MODES.md section 4) from the block outputs `outputs` (outputs[i] = the
    output of block i, [1+N, D]; outputs[0] = the input of block 1). Returns the patch tokens y [N, D]."""
    V = w.vision
    last = f"vision_model.encoder.layers.{V.layers - 1}"
    pre, post, levels, class_weight = scclip_layers(V.layers)
    f = outputs[V.layers - 1]
    flagged = lof_outliers(f[1:])
    scclip_block.flagged = flagged  # for the goldens
    s_mid = cosine(repair(outputs[pre][1:], flagged, *grid))
    s_pre = torch.where(s_mid < 0.4, torch.zeros_like(s_mid), s_mid)
    s_post = cosine(outputs[post][1:])
    s_post = torch.where(s_post < 0.4, torch.zeros_like(s_post), s_post)
    g = 3 * (s_mid - s_mid.mean())
    shared = torch.softmax(g.masked_fill(g < 0, float("-inf")), dim=-1)

    def agg(s, x):
        return (s / (s.sum(1, keepdim=True) + 1e-6)) @ x

    def attend(z):
        n, d = z.shape
        heads, hd = V.heads, d // V.heads
        y = layer_norm(z, w, last + ".layer_norm1", preset.eps)
        k, v = (linear(y, w, f"{last}.self_attn.{name}_proj").reshape(n, heads, hd).transpose(0, 1) for name in "kv")
        a = 0.5 * (shared + torch.softmax(hd ** -0.5 * (k @ k.transpose(1, 2)), dim=-1))
        return linear((a @ v).transpose(0, 1).reshape(n, d), w, last + ".self_attn.out_proj")

    m = sum(outputs[i] for i in levels)
    main = agg(s_post, attend(agg(s_pre, repair(f[1:], flagged, *grid))) + class_weight * f[0])
    return main + agg(s_post, attend(m[1:]) + class_weight * m[0])


def dense_features(w, x, preset, mode="maskclip"):
    """The image tower on the prepared input x [3, H', W']: MaskCLIP's last block, or another mode's.

    Returns a dict: pos [1+HW, D], pre_last (input of the last layer) [1+HW, D],
    hidden (post_layernorm, class token dropped) [HW, D], key [HW, D],
    features (projected, L2-normalised) [HW, E], grid (gh, gw)."""
    P, V = w.patch, w.vision
    gh, gw = x.shape[1] // P, x.shape[2] // P
    tokens = F.conv2d(x[None], w["vision_model.embeddings.patch_embedding.weight"], stride=P)   # [1, D, gh, gw]
    tokens = tokens[0].flatten(1).T                                                            # [HW, D] row-major
    pos = resized_position_embedding(w, gh, gw) if mode == "maskclip" else scaled_position_embedding(w, gh, gw)
    h = torch.cat([w["vision_model.embeddings.class_embedding"][None], tokens]) + pos
    h = layer_norm(h, w, "vision_model.pre_layrnorm", preset.eps)
    outputs = [h]
    for i in range(V.layers - 1):
        h = block(h, w, f"vision_model.encoder.layers.{i}", V, act=preset.act, eps=preset.eps)
        outputs.append(h)
    pre_last = h
    if mode == "scclip":
        z = layer_norm(scclip_block(w, outputs, preset, (gh, gw)), w, "vision_model.post_layernorm", preset.eps)
        f = z @ w["visual_projection.weight"].T
        f = f / f.norm(dim=-1, keepdim=True)
        return dict(pos=pos, pre_last=pre_last, hidden=z, key=None, features=f, grid=(gh, gw),
                    flagged=scclip_block.flagged)
    if mode != "maskclip":
        z = layer_norm(last_block(w, h, mode, preset, (gh, gw)), w, "vision_model.post_layernorm", preset.eps)[1:]
        f = z @ w["visual_projection.weight"].T
        f = f / f.norm(dim=-1, keepdim=True)
        return dict(pos=pos, pre_last=pre_last, hidden=z, key=None, features=f, grid=(gh, gw))
    last = f"vision_model.encoder.layers.{V.layers - 1}"
    y = layer_norm(h, w, last + ".layer_norm1", preset.eps)
    v = linear(linear(y, w, last + ".self_attn.v_proj"), w, last + ".self_attn.out_proj")
    key = linear(linear(y, w, last + ".self_attn.k_proj"), w, last + ".self_attn.out_proj")
    z = h + v
    z = z + mlp(layer_norm(z, w, last + ".layer_norm2", preset.eps), w, last + ".mlp", preset.act)
    z = layer_norm(z, w, "vision_model.post_layernorm", preset.eps)[1:]
    f = z @ w["visual_projection.weight"].T
    f = f / f.norm(dim=-1, keepdim=True)
    return dict(pos=pos, pre_last=pre_last, hidden=z, key=key[1:], features=f, grid=(gh, gw))


def windowed_logits(w, T, x, crop, stride, mode, preset):
    """docs/DENSE-MODES.md section 2 over the normalised resized image x [3, H, W]: windows of side `crop` every
    `stride` pixels, each made whole patches as its mode's code does it (maskclip: zeros bottom/right; clearclip:
    zeros split around it, cut from the upsampled scores; sclip, naclip: the remainder cut off, the scores stretched
    over the window), raw cosines averaged over the windows covering each pixel. Returns [Q, H, W]."""
    P = w.patch
    _, H, W = x.shape
    c, t = crop, stride
    rows, cols = max(H - c + t - 1, 0) // t + 1, max(W - c + t - 1, 0) // t + 1
    total = torch.zeros(T.shape[0], H, W, dtype=x.dtype)
    count = torch.zeros(H, W, dtype=x.dtype)
    for i in range(rows):
        for j in range(cols):
            y2, x2 = min(i * t + c, H), min(j * t + c, W)
            y1, x1 = max(y2 - c, 0), max(x2 - c, 0)
            win = x[:, y1:y2, x1:x2]
            h, wd = win.shape[1:]
            ph, pw = -h % P, -wd % P
            if mode == "clearclip":
                win = F.pad(win, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))
            elif mode == "maskclip":
                win = F.pad(win, (0, pw, 0, ph))
            else:
                win = win[:, : max(1, h // P) * P, : max(1, wd // P) * P]
                win = F.pad(win, (0, -win.shape[2] % P, 0, -win.shape[1] % P))
            out = dense_features(w, win, preset, mode)
            gh, gw = out["grid"]
            L = (out["features"] @ T.T).T.reshape(1, -1, gh, gw)
            if mode == "clearclip":
                L = F.interpolate(L, size=tuple(win.shape[1:]), mode="bilinear", align_corners=False)[0]
                L = L[:, ph // 2: ph // 2 + h, pw // 2: pw // 2 + wd]
            else:
                L = F.interpolate(L, size=(h, wd), mode="bilinear", align_corners=False)[0]
            total[:, y1:y2, x1:x2] += L
            count[y1:y2, x1:x2] += 1
    return total / count


def neighbours(t, d):
    """The 8 neighbours at dilation d of every pixel of t [C, h, w], borders replicated: [8, C, h, w]."""
    _, h, w = t.shape
    p = F.pad(t[None], (d, d, d, d), mode="replicate")[0]
    return torch.stack([p[:, d + i * d: d + i * d + h, d + j * d: d + j * d + w]
                        for i in (-1, 0, 1) for j in (-1, 0, 1) if (i, j) != (0, 0)])


def pamr(image, logits, dilations, iterations):
    """docs/DENSE-MODES.md section 3: logits [Q, h, w] refined `iterations` times, guided by image [3, h, w]."""
    near = torch.cat([neighbours(image, d) for d in dilations])                      # [8|D|, 3, h, w]
    values = torch.cat([torch.cat([neighbours(image, d), image[None]]) for d in dilations])  # 9|D| values
    sigma = values.std(dim=0, unbiased=True)                                           # [3, h, w]
    kappa = (-(image[None] - near).abs() / (1e-8 + 0.1 * sigma[None])).mean(dim=1)     # [8|D|, h, w]
    a = torch.softmax(kappa, dim=0)
    for _ in range(iterations):
        logits = (a[:, None] * torch.cat([neighbours(logits, d) for d in dilations])).sum(0)
    return logits


def prompt_denoise(logits, t):
    """Classes whose max softmax(100*logits) probability over positions is < t get logits -100."""
    if t <= 0:
        return logits
    p = torch.softmax(100.0 * logits, dim=1)
    absent = p.max(dim=0).values < t
    out = logits.clone()
    out[:, absent] = -100.0
    return out


def key_smooth(logits, key, t):
    """Section 6: rows with max prob < t replaced by (W P)[i], W = k̂ k̂ᵀ, k̂ normalised per channel over HW."""
    p = torch.softmax(100.0 * logits, dim=1)                                # [HW, K]
    k = F.normalize(key, dim=0)                                             # each channel / its L2 norm over HW
    smoothed = (k @ k.T) @ p
    rows = p.max(dim=1).values < t
    out = p.clone()
    out[rows] = smoothed[rows]
    return out


def decide(s, query_class=None, logit_scale=100.0, min_confidence=0.0):
    """Full-size scores s [Q, h, w] -> labels (docs/DENSE-MODES.md §2): P = softmax(logit_scale * s) over the
    queries, p_c = max of P over class c's queries, label = argmax_c p_c (lowest index on ties), void (255) where
    max_c p_c < min_confidence.

    Returns labels [h, w] (int64), the margin [h, w] (top-1 minus top-2 of the class scores max_{q in c} s_q, or
    the distance of the probability to the threshold when that is smaller) and the probability max_c p_c [h, w]."""
    q = s.shape[0]
    query_class = torch.arange(q) if query_class is None else torch.as_tensor(query_class)
    k = int(query_class.max()) + 1
    P = torch.softmax(logit_scale * s, dim=0)
    class_scores = torch.full((k,) + s.shape[1:], -float("inf"), dtype=s.dtype)
    class_p = torch.zeros((k,) + s.shape[1:], dtype=s.dtype)
    for j in range(q):
        c = int(query_class[j])
        class_scores[c] = torch.maximum(class_scores[c], s[j])
        class_p[c] = torch.maximum(class_p[c], P[j])
    labels = torch.argmax(class_p, dim=0)  # first maximal index
    probability = class_p.max(dim=0).values
    if k > 1:
        top2 = torch.topk(class_scores, 2, dim=0).values
        margin = top2[0] - top2[1]
    else:
        margin = torch.full(labels.shape, float("inf"), dtype=s.dtype)
    if min_confidence > 0:
        labels = torch.where(probability < min_confidence, torch.full_like(labels, 255), labels)
        margin = torch.minimum(margin, (probability - min_confidence).abs())
    return labels, margin, probability


def upsample_labels(scores, grid, resized, original, refine=None, **decision):
    """scores [HW, Q] -> [Q, gh, gw] -> bilinear to (nh, nw) -> bilinear to (h, w) [-> refine, e.g. PAMR] ->
    `decide` (query classes, logit scale, minimum confidence as keyword arguments).

    Returns labels [h, w] (int64), the margin [h, w] and each pixel's probability [h, w]."""
    gh, gw = grid
    s = scores.T.reshape(1, -1, gh, gw)
    s = F.interpolate(s, size=resized, mode="bilinear", align_corners=False)
    s = F.interpolate(s, size=original, mode="bilinear", align_corners=False)[0]   # [Q, h, w]
    if refine is not None:
        s = refine(s)
    return decide(s, **decision)


def label_image(w, T, rgb, short=512, long_cap=2048, preset="clip", pd=0.5, ks=0.0, settings=None, mode="maskclip",
                window=0, stride=0, pamr_iterations=0, pamr_dilations=(8, 16), query_class=None, logit_scale=100.0,
                min_confidence=0.0):
    """Run section 4 on one decoded image. `settings`: optional list of (pd, ks) pairs to evaluate on the same
    dense features; the result dict then holds labels/margins/probabilities per pair as well as the intermediates.
    T has one row per query; `query_class` gives each query's class (None: one query per class).

    The grid's scores go to the image bilinearly through the resized size (maskclip, naclip) or straight to the
    image's size (clearclip, sclip), as each method's code does it."""
    pr = vision_preset(preset, w) if isinstance(preset, str) else preset
    decision = dict(query_class=query_class, logit_scale=logit_scale, min_confidence=min_confidence)
    refine = None
    if pamr_iterations > 0:
        # The guide: the normalised resized image (not made whole patches) at the image's own size.
        guide, _ = preprocess(rgb, short, long_cap, pr, w.patch, w.dtype, mode, whole_patches=False)
        guide = F.interpolate(guide[None], size=rgb.shape[:2], mode="bilinear", align_corners=False)[0]
        refine = lambda s: pamr(guide, s, pamr_dilations, pamr_iterations)  # noqa: E731
    if window > 0:
        x, resized = preprocess(rgb, short, long_cap, pr, w.patch, w.dtype, mode, whole_patches=False)
        logits = windowed_logits(w, T, x, window, stride or max(1, window // 2), mode, pr)      # [Q, H, W]
        scores = logits.flatten(1).T                                                          # [H*W, Q]
        labels, margin, probability = upsample_labels(scores, resized, rgb.shape[:2], rgb.shape[:2], refine, **decision)
        run = dict(logits=scores, scores=scores, labels=labels, margin=margin, probability=probability)
        return dict(input=x, resized=resized, original=rgb.shape[:2], grid=resized, logits=scores, runs={(0.0, 0.0): run})
    x, resized = preprocess(rgb, short, long_cap, pr, w.patch, w.dtype, mode)
    out = dense_features(w, x, pr, mode)
    out.update(input=x, resized=resized, original=rgb.shape[:2], logits=out["features"] @ T.T)
    out["runs"] = {}
    for t_pd, t_ks in settings or [(pd, ks)]:
        logits = prompt_denoise(out["logits"], t_pd)
        scores = key_smooth(logits, out["key"], t_ks) if t_ks > 0 else logits
        through = rgb.shape[:2] if mode in ("clearclip", "sclip", "scclip") else resized
        labels, margin, probability = upsample_labels(scores, out["grid"], through, rgb.shape[:2], refine, **decision)
        out["runs"][(t_pd, t_ks)] = dict(logits=logits, scores=scores, labels=labels, margin=margin, probability=probability)
    return out


def save_label_png(labels, path):
    arr = labels.cpu().numpy()
    assert arr.max(initial=0) < 256, "more than 256 classes do not fit an 8-bit palette PNG"
    im = Image.fromarray(arr.astype(np.uint8), mode="P")
    im.putpalette(voc_palette())
    im.save(path)


def main(argv=None):
    ap = argparse.ArgumentParser(description="MaskCLIP reference labels (docs/maskclip.md)")
    ap.add_argument("images", nargs="+")
    ap.add_argument("--model", required=True)
    ap.add_argument("--classes", help="comma-separated class names")
    ap.add_argument("--classes-file", help="one class a line; synonyms after the name, comma-separated")
    ap.add_argument("--templates", default="maskclip85", help="maskclip85 | single | a file, one template a line")
    ap.add_argument("--short-side", type=int, default=512)
    ap.add_argument("--long-side", type=int, default=2048)
    ap.add_argument("--prompt-denoise", type=float, default=0.5, help="threshold; 0 disables")
    ap.add_argument("--key-smoothing", type=float, default=0.0, help="threshold; 0 disables (reference: 1.0)")
    ap.add_argument("--preset", choices=["clip", "reference"], default="clip")
    ap.add_argument("--mode", choices=["maskclip", "clearclip", "sclip", "naclip", "scclip"], default="maskclip")
    ap.add_argument("--window", type=int, default=0, help="sliding-window side (0: the whole image)")
    ap.add_argument("--stride", type=int, default=0, help="sliding-window step (0: half the window)")
    ap.add_argument("--pamr-iterations", type=int, default=0, help="PAMR iterations (0: off)")
    ap.add_argument("--pamr-dilations", default="8,16")
    ap.add_argument("--logit-scale", type=float, default=100.0, help="softmax scale of the pixel probabilities")
    ap.add_argument("--min-confidence", type=float, default=0.0, help="void below this probability (0: off)")
    ap.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    ap.add_argument("--check-hf", type=int, default=85, help="prompts to recompute with transformers (0: skip)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--margins", action="store_true", help="also save each image's top-two margin, <stem>.margin.npy")
    args = ap.parse_args(argv)

    torch.set_grad_enabled(False)
    w = CLIPWeights(args.model, getattr(torch, args.dtype))
    tok = Tokenizer(args.model)
    if (args.classes is None) == (args.classes_file is None):
        ap.error("give exactly one of --classes or --classes-file")
    lines = [c for c in args.classes.split(",")] if args.classes else open(args.classes_file, encoding="utf-8").read().splitlines()
    _, queries, query_class = parse_class_lines(lines)
    T, ids, feats = class_matrix(w, tok, queries, load_templates(args.templates), return_details=True)
    if args.check_hf:
        err = check_text_against_hf(w, ids, feats, args.check_hf)
        print(f"text encoder vs transformers ({min(args.check_hf, len(ids))} prompts): max rel err {err:.2e}",
              file=sys.stderr)
    os.makedirs(args.out, exist_ok=True)
    for path in args.images:
        rgb = load_rgb(path)
        r = label_image(w, T, rgb, args.short_side, args.long_side, args.preset, args.prompt_denoise,
                        args.key_smoothing, mode=args.mode, window=args.window, stride=args.stride,
                        pamr_iterations=args.pamr_iterations,
                        pamr_dilations=[int(d) for d in args.pamr_dilations.split(",")], query_class=query_class,
                        logit_scale=args.logit_scale, min_confidence=args.min_confidence)
        labels = r["runs"][(args.prompt_denoise, args.key_smoothing)]["labels"]
        stem = os.path.splitext(os.path.basename(path))[0]
        save_label_png(labels, os.path.join(args.out, stem + ".png"))
        if args.margins:
            margin = r["runs"][(args.prompt_denoise, args.key_smoothing)]["margin"]
            np.save(os.path.join(args.out, stem + ".margin.npy"), margin.to(torch.float32).numpy())
        print(f"{path}: {rgb.shape[1]}x{rgb.shape[0]} -> {r['resized'][1]}x{r['resized'][0]}, "
              f"grid {r['grid'][1]}x{r['grid'][0]}", file=sys.stderr)


if __name__ == "__main__":
    main()
