#!/usr/bin/env python3
"""Write a random-weight CLIP model directory in the exact Hugging Face layout (docs/maskclip.md, section 1).

    /root/mlvenv/bin/python scripts/make_test_model.py --preset tiny --dtype f16 --seed 0 \
        --out Tests/InferenceTests/Fixtures/tiny-clip

Output: config.json and model.safetensors (transformers' CLIPModel.save_pretrained, safe_serialization=True),
plus vocab.json and merges.txt written by scripts/make_tokenizer_files.py from the original BPE merges file.

Weights are drawn from one seeded torch.Generator in parameter-name order, so a (preset, seed) pair always gives
the same tensors. The init keeps activations lively at every width: Linear weights N(0, (0.7/sqrt(fan_in))^2)
(std 0.025 for ViT-B, close to CLIP's 0.02, and large enough that the blocks of the 32-wide tiny model are not
near-identities), biases N(0, 0.02^2), LayerNorm weights 1 + N(0, 0.1^2), embeddings O(0.5), logit_scale = ln 100.
"""
import argparse
import math
import os
import subprocess
import sys

import torch
from safetensors import safe_open

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_BPE = os.path.join(HERE, "data", "clip", "bpe_simple_vocab_16e6.txt.gz")

TEXT_B = dict(hidden_size=512, num_hidden_layers=12, num_attention_heads=8, intermediate_size=2048)
TEXT_L = dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072)
TEXT_TINY = dict(hidden_size=16, num_hidden_layers=1, num_attention_heads=4, intermediate_size=32)
VISION_L14 = dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096, patch_size=14,
                  image_size=224)
PRESETS = {
    "tiny": dict(
        vision=dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                    patch_size=16, image_size=64),
        text=dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64),
        projection_dim=16),
    "b16": dict(
        vision=dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                    patch_size=16, image_size=224),
        text=TEXT_B, projection_dim=512),
    "b32": dict(
        vision=dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                    patch_size=32, image_size=224),
        text=TEXT_B, projection_dim=512),
    # ViT-B/16's depth and 14 x 14 grid at a tiny width: SC-CLIP reads blocks 4, 9 and 4..10 of 12.
    "tiny-12": dict(
        vision=dict(hidden_size=32, num_hidden_layers=12, num_attention_heads=4, intermediate_size=64,
                    patch_size=16, image_size=224),
        text=TEXT_TINY, projection_dim=16),
    # ViT-L/14-336's geometry (patch 14, 16 heads, a 24 x 24 grid) at a tiny width, for the test fixtures.
    "tiny-l14-336": dict(
        vision=dict(hidden_size=64, num_hidden_layers=3, num_attention_heads=16, intermediate_size=128,
                    patch_size=14, image_size=336),
        text=TEXT_TINY, projection_dim=16),
    "l14-336": dict(vision=dict(VISION_L14, image_size=336), text=TEXT_L, projection_dim=768),
    "l14": dict(vision=VISION_L14, text=TEXT_L, projection_dim=768),
}
COMMON = dict(layer_norm_eps=1e-5)
DTYPES = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}


def make_config(preset, hidden_act="quick_gelu"):
    """OpenAI's checkpoints use quick_gelu; OpenCLIP's in Hugging Face layout say gelu (exact erf)."""
    from transformers import CLIPConfig
    p = PRESETS[preset]
    text = dict(p["text"], vocab_size=49408, max_position_embeddings=77, projection_dim=p["projection_dim"],
                bos_token_id=49406, eos_token_id=49407, pad_token_id=1, hidden_act=hidden_act, **COMMON)
    vision = dict(p["vision"], num_channels=3, projection_dim=p["projection_dim"], hidden_act=hidden_act, **COMMON)
    return CLIPConfig(text_config=text, vision_config=vision, projection_dim=p["projection_dim"],
                      logit_scale_init_value=math.log(100.0))


def expected_shapes(cfg):
    """Every tensor name and shape that docs/maskclip.md section 1 lists (position_ids buffers excluded)."""
    v, t, e = cfg.vision_config, cfg.text_config, cfg.projection_dim
    d, p, g = v.hidden_size, v.patch_size, v.image_size // v.patch_size
    shapes = {
        "vision_model.embeddings.class_embedding": (d,),
        "vision_model.embeddings.patch_embedding.weight": (d, 3, p, p),
        "vision_model.embeddings.position_embedding.weight": (1 + g * g, d),
        "vision_model.pre_layrnorm.weight": (d,), "vision_model.pre_layrnorm.bias": (d,),
        "vision_model.post_layernorm.weight": (d,), "vision_model.post_layernorm.bias": (d,),
        "visual_projection.weight": (e, d),
        "text_model.embeddings.token_embedding.weight": (t.vocab_size, t.hidden_size),
        "text_model.embeddings.position_embedding.weight": (t.max_position_embeddings, t.hidden_size),
        "text_model.final_layer_norm.weight": (t.hidden_size,),
        "text_model.final_layer_norm.bias": (t.hidden_size,),
        "text_projection.weight": (e, t.hidden_size),
        "logit_scale": (),
    }
    for tower, c in (("vision_model", v), ("text_model", t)):
        w, m = c.hidden_size, c.intermediate_size
        for i in range(c.num_hidden_layers):
            pre = f"{tower}.encoder.layers.{i}."
            for proj in ("q", "k", "v", "out"):
                shapes[pre + f"self_attn.{proj}_proj.weight"] = (w, w)
                shapes[pre + f"self_attn.{proj}_proj.bias"] = (w,)
            for ln in ("layer_norm1", "layer_norm2"):
                shapes[pre + f"{ln}.weight"] = (w,)
                shapes[pre + f"{ln}.bias"] = (w,)
            shapes[pre + "mlp.fc1.weight"] = (m, w)
            shapes[pre + "mlp.fc1.bias"] = (m,)
            shapes[pre + "mlp.fc2.weight"] = (w, m)
            shapes[pre + "mlp.fc2.bias"] = (w,)
    return shapes


def init_weights(model, seed):
    gen = torch.Generator().manual_seed(seed)

    def normal(shape, std, mean=0.0):
        return torch.randn(shape, generator=gen, dtype=torch.float32) * std + mean

    with torch.no_grad():
        for name, param in sorted(model.named_parameters()):
            shape = tuple(param.shape)
            if name == "logit_scale":
                value = torch.tensor(math.log(100.0))
            elif "layer_norm" in name or "layrnorm" in name or "layernorm" in name:
                value = normal(shape, 0.1, 1.0) if name.endswith("weight") else normal(shape, 0.02)
            elif name.endswith("class_embedding"):
                value = normal(shape, 0.5)
            elif name.endswith("position_embedding.weight"):
                value = normal(shape, 0.5 if name.startswith("vision") else 0.2)
            elif name.endswith("token_embedding.weight"):
                value = normal(shape, 0.5)
            elif name.endswith("patch_embedding.weight"):
                value = normal(shape, 0.7 / math.sqrt(shape[1] * shape[2] * shape[3]))
            elif name.endswith(".weight") and len(shape) == 2:  # Linear [out, in]
                value = normal(shape, 0.7 / math.sqrt(shape[1]))
            elif name.endswith(".bias"):
                value = normal(shape, 0.02)
            else:
                raise ValueError(f"no init rule for {name} {shape}")
            param.copy_(value)


def check_safetensors(path, cfg, dtype):
    expected = expected_shapes(cfg)
    with safe_open(path, framework="pt") as f:
        names = set(f.keys())
        extra = {n for n in names - set(expected) if not n.endswith("position_ids")}
        missing = set(expected) - names
        assert not missing and not extra, f"missing {sorted(missing)}, unexpected {sorted(extra)}"
        for name, shape in expected.items():
            t = f.get_tensor(name)
            assert tuple(t.shape) == shape, f"{name}: {tuple(t.shape)} != {shape}"
            assert t.dtype == dtype, f"{name}: {t.dtype} != {dtype}"
    return len(expected), sorted(n for n in names if n.endswith("position_ids"))


def write_tokenizer_files(bpe, out):
    script = os.path.join(HERE, "make_tokenizer_files.py")
    subprocess.run([sys.executable, script, bpe, out], check=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", choices=sorted(PRESETS), default="tiny")
    ap.add_argument("--dtype", choices=sorted(DTYPES), default="f32")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--hidden-act", choices=["quick_gelu", "gelu"], default="quick_gelu",
                    help="gelu: an OpenCLIP checkpoint in Hugging Face layout")
    ap.add_argument("--bpe", default=DEFAULT_BPE, help="bpe_simple_vocab_16e6.txt.gz")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    from transformers import CLIPModel
    torch.manual_seed(args.seed)  # HF's own init runs first; everything is overwritten below
    cfg = make_config(args.preset, args.hidden_act)
    model = CLIPModel(cfg).eval()
    init_weights(model, args.seed)
    model = model.to(DTYPES[args.dtype])
    os.makedirs(args.out, exist_ok=True)
    model.save_pretrained(args.out, safe_serialization=True)
    for extra in ("generation_config.json",):
        if os.path.exists(os.path.join(args.out, extra)):
            os.remove(os.path.join(args.out, extra))
    write_tokenizer_files(args.bpe, args.out)

    st = os.path.join(args.out, "model.safetensors")
    os.chmod(st, 0o644)  # save_pretrained writes 0600
    n, pos_ids = check_safetensors(st, cfg, DTYPES[args.dtype])
    params = sum(p.numel() for p in model.parameters())
    print(f"{args.preset} {args.dtype} seed {args.seed}: {n} tensors (+ position_ids: {pos_ids or 'none'}), "
          f"{params:,} parameters, model.safetensors {os.path.getsize(st):,} bytes -> {args.out}")


if __name__ == "__main__":
    main()
