#!/usr/bin/env python3
"""Compare scripts/reference.py's dense modes with each method's official code, run on the same random weights.

For every input size and mode this runs the official repository's own model code (the image tower and the
segmentor methods that call it) and scripts/reference.py on one normalised input tensor, and prints the largest
differences of the dense features and of the logits against a fixed random class matrix, and how often the
per-patch argmax agrees. It also runs the segmentors' sliding-window methods against reference.windowed_logits,
and NACLIP's PAMR and whole prediction path against reference.pamr / reference.decide.

Getting the official code (the commits this was written against are in brackets):

    git clone https://github.com/mc-lan/ClearCLIP   /tmp/official/clearclip   # [ad68a404]
    git clone https://github.com/wangf3014/SCLIP    /tmp/official/sclip       # [b56bd301]
    git clone https://github.com/sinahmr/NACLIP     /tmp/official/naclip      # [0cac3a65]

Running it (the tiny fixture takes seconds; a ViT-B/16-shaped model from scripts/make_test_model.py --preset b16
a few minutes on a CPU in float64):

    /root/mlvenv/bin/python scripts/compare_official.py --model Tests/InferenceTests/Fixtures/tiny-clip \
        --clearclip /tmp/official/clearclip --sclip /tmp/official/sclip --naclip /tmp/official/naclip \
        [--dtype float64|float32] [--sizes 64x64,48x80] [--windows 56/24,64/32] [--classes 8] [--seed 0]

Prints a table and, as its last line, one JSON object with every figure. Rows of the dense table:

    clearclip                 ClearCLIP's segmentor as its README / demo.py run it: model_type='ClearCLIP',
                              ignore_residual=True (q-q attention, no residual, no MLP)
    clearclip/shipped-config  the same code as configs/base_config.py sets it (model_type='vanilla': q-k attention,
                              no residual, no MLP); for information, not expected to match
    maskclip/clearclip-repo   ClearCLIP's open_clip with model_type='MaskCLIP', ignore_residual=False, the nearest
                              official code to labelmill's maskclip mode (MaskCLIP's own repository is not used)
    sclip, naclip             SCLIP's / NACLIP's segmentors with their default settings

Columns: max |difference| of the L2-normalised patch features and of their logits against a random unit class
matrix, % of patches whose argmax agrees, the max |difference| of the segmentor's own forward_feature output
(logits stretched over the input) against the reference's grid logits resized the same way, and "w/ quirks": the
logit difference again after the reference takes the official code's position-embedding rule (the G x G table
used as it is whenever the token count is G², whatever the grid's shape) and NACLIP's float32 Gaussian term
(computed only for rows that differ).

How the official code is run. mmseg, mmcv and mmengine are not importable here, so the few names the segmentor
files import from them are replaced by small stand-ins (a plain nn.Module base class, an identity registry
decorator, a PixelData record); so are BLIP, gem, the prompt templates, open_clip's tokenizer, and torchvision
when it is missing (the model files import it but the paths run here do not use it). Each segmentor object is
made without its __init__ (which would download OpenAI's checkpoint and tokenise the class names); the attributes
its methods read are set to what __init__ would set, with the query features replaced by the random class
matrix. Then forward_feature / forward_slide / predict are the repositories' own methods, unchanged.

Weights. The Hugging Face model.safetensors is converted to OpenAI's state-dict layout (q, k, v concatenated into
in_proj, proj = visual_projection.weightᵀ, ...). OpenAI's clip/model.py (SCLIP, NACLIP) fixes the head count to
width / 64 in build_model and the MLP to 4 x width; so its VisionTransformer is built directly with the config's
head count, and a narrower MLP is zero-padded to 4 x width (the extra hidden units have zero weights and bias, so
QuickGELU(0) = 0 adds nothing: exact). OpenAI's code has QuickGELU only, so a `gelu` model is refused for SCLIP and
NACLIP. ClearCLIP's open_clip takes head width and MLP ratio as settings and is built with them, text tower included.
build_model itself is not used because it rounds every weight to float16 before loading.

float64. OpenAI's clip/model.py LayerNorm casts its input to float32 (an fp16 guard), which fails against float64
weights; with --dtype float64 that one method is replaced by torch's own LayerNorm.forward (same formula, no cast).
With --dtype float32 the official code runs entirely unchanged. NACLIP builds its Gaussian neighbourhood term in
float32 whatever the model's dtype (its features then agree to about 1e-9 in float64), and its PAMR only runs on
float32 tensors, so NACLIP's predict() is given the image as float32 (the tower still runs in the model's dtype)
and PAMR agrees to about 1e-6. The conversion check's comparison with transformers stops near 1e-8 in float64
because transformers' eager attention takes its softmax in float32; the same ordinary forward written with
reference.py's pieces is listed beside it at full precision.
"""
import argparse
import contextlib
import importlib
import importlib.util
import json
import logging
import math
import os
import sys
import types

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


def load_file(name, path):
    """Import a single Python file as module `name` (registered in sys.modules)."""
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


ref = load_file("labelmill_reference", os.path.join(HERE, "reference.py"))


# --------------------------------------------------------------------------------------------------- stand-ins

def fake_module(name, **attrs):
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    return m


@contextlib.contextmanager
def modules(mapping):
    """Temporarily put `mapping` (name -> module) into sys.modules, restoring what was there afterwards."""
    saved = {k: sys.modules.get(k) for k in mapping}
    sys.modules.update(mapping)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


class _Registry:
    def register_module(self, *args, **kwargs):
        return lambda cls: cls


class _BaseSegmentor(nn.Module):
    def __init__(self, *args, **kwargs):
        super().__init__()


class PixelData:
    def __init__(self, **kwargs):
        self.__dict__.update(kwargs)


class DataSample:
    """What predict() reads (metainfo) and writes (set_data) of mmseg's SegDataSample."""

    def __init__(self, **metainfo):
        self.metainfo = metainfo
        self.out = {}

    def set_data(self, d):
        self.out.update(d)


def mm_stubs():
    """mmseg / mmengine names the segmentor files import."""
    return {
        "mmseg": fake_module("mmseg"),
        "mmseg.models": fake_module("mmseg.models"),
        "mmseg.models.segmentors": fake_module("mmseg.models.segmentors", BaseSegmentor=_BaseSegmentor),
        "mmseg.models.data_preprocessor": fake_module("mmseg.models.data_preprocessor",
                                                      SegDataPreProcessor=lambda **kw: None),
        "mmseg.registry": fake_module("mmseg.registry", MODELS=_Registry()),
        "mmengine": fake_module("mmengine"),
        "mmengine.structures": fake_module("mmengine.structures", PixelData=PixelData),
        "prompts": fake_module("prompts"),
        "prompts.imagenet_template": fake_module("prompts.imagenet_template", openai_imagenet_template=[]),
    }


def torchvision_stubs():
    try:
        import torchvision  # noqa: F401
        return {}
    except ImportError:
        pass

    class FrozenBatchNorm2d(nn.Module):
        pass
    return {
        "torchvision": fake_module("torchvision"),
        "torchvision.transforms": fake_module("torchvision.transforms"),
        "torchvision.transforms.functional": fake_module("torchvision.transforms.functional"),
        "torchvision.ops": fake_module("torchvision.ops"),
        "torchvision.ops.misc": fake_module("torchvision.ops.misc", FrozenBatchNorm2d=FrozenBatchNorm2d),
    }


# ---------------------------------------------------------------------------------------- loading the official code

def load_openai_style(repo, tag, segmentor_file):
    """SCLIP / NACLIP: their clip/model.py, pamr.py and segmentor file, under private module names."""
    with modules(torchvision_stubs()):
        model = load_file(f"official_{tag}_clip_model", os.path.join(repo, "clip", "model.py"))
    pamr = load_file(f"official_{tag}_pamr", os.path.join(repo, "pamr.py"))
    clip_pkg = fake_module("clip", model=model)
    with modules(dict(mm_stubs(), clip=clip_pkg, pamr=pamr)):
        seg = load_file(f"official_{tag}_segmentor", os.path.join(repo, segmentor_file))
    return model, pamr, seg


def load_clearclip(repo):
    """ClearCLIP: its open_clip package (model.py, transformer.py; the package __init__ is not run, it would import
    the tokenizer and the pretrained-weight machinery) and clearclip_segmentor.py."""
    # open_clip/hf_model.py imports these; load them before a torchvision stand-in exists (transformers probes it).
    import transformers  # noqa: F401
    from transformers import AutoModel, AutoTokenizer, AutoConfig, PretrainedConfig  # noqa: F401
    import transformers.modeling_outputs  # noqa: F401
    pkg = types.ModuleType("open_clip")
    pkg.__path__ = [os.path.join(repo, "open_clip")]
    pkg.__package__ = "open_clip"
    with modules(dict(torchvision_stubs(), open_clip=pkg)):
        model = importlib.import_module("open_clip.model")
        transformer = importlib.import_module("open_clip.transformer")
        pkg.tokenizer = fake_module("open_clip.tokenizer", tokenize=None)
        pkg.create_model = None
        stubs = dict(mm_stubs(), gem=fake_module("gem"), BLIP=fake_module("BLIP"),
                     **{"BLIP.models": fake_module("BLIP.models"),
                        "BLIP.models.blip_retrieval": fake_module("BLIP.models.blip_retrieval", blip_retrieval=None)})
        with modules(stubs):
            seg = load_file("official_clearclip_segmentor", os.path.join(repo, "clearclip_segmentor.py"))
    return model, transformer, seg


# ---------------------------------------------------------------------------------------------- weight conversion

def openai_state_dict(w, mlp_width=None, text=False):
    """OpenAI CLIP layout from the Hugging Face tensors of reference.CLIPWeights `w`.

    mlp_width: pad the MLP hidden layer with zero units up to this width (OpenAI's code fixes it at 4 x width)."""
    sd = {}

    def block(dst, src, d):
        sd[dst + ".attn.in_proj_weight"] = torch.cat([w[f"{src}.self_attn.{n}_proj.weight"] for n in "qkv"])
        sd[dst + ".attn.in_proj_bias"] = torch.cat([w[f"{src}.self_attn.{n}_proj.bias"] for n in "qkv"])
        sd[dst + ".attn.out_proj.weight"] = w[src + ".self_attn.out_proj.weight"]
        sd[dst + ".attn.out_proj.bias"] = w[src + ".self_attn.out_proj.bias"]
        for a, b in (("ln_1", "layer_norm1"), ("ln_2", "layer_norm2")):
            sd[f"{dst}.{a}.weight"] = w[f"{src}.{b}.weight"]
            sd[f"{dst}.{a}.bias"] = w[f"{src}.{b}.bias"]
        fc_w, fc_b, pr_w = w[src + ".mlp.fc1.weight"], w[src + ".mlp.fc1.bias"], w[src + ".mlp.fc2.weight"]
        extra = (mlp_width or fc_w.shape[0]) - fc_w.shape[0]
        if extra > 0:
            fc_w = torch.cat([fc_w, fc_w.new_zeros(extra, d)])
            fc_b = torch.cat([fc_b, fc_b.new_zeros(extra)])
            pr_w = torch.cat([pr_w, pr_w.new_zeros(d, extra)], dim=1)
        sd[dst + ".mlp.c_fc.weight"], sd[dst + ".mlp.c_fc.bias"] = fc_w, fc_b
        sd[dst + ".mlp.c_proj.weight"], sd[dst + ".mlp.c_proj.bias"] = pr_w, w[src + ".mlp.fc2.bias"]

    v = "vision_model."
    sd["visual.conv1.weight"] = w[v + "embeddings.patch_embedding.weight"]
    sd["visual.class_embedding"] = w[v + "embeddings.class_embedding"]
    sd["visual.positional_embedding"] = w[v + "embeddings.position_embedding.weight"]
    for a, b in (("ln_pre", "pre_layrnorm"), ("ln_post", "post_layernorm")):
        sd[f"visual.{a}.weight"] = w[f"{v}{b}.weight"]
        sd[f"visual.{a}.bias"] = w[f"{v}{b}.bias"]
    for i in range(w.vision.layers):
        block(f"visual.transformer.resblocks.{i}", f"{v}encoder.layers.{i}", w.vision.width)
    sd["visual.proj"] = w["visual_projection.weight"].T.contiguous()
    if text:
        t = "text_model."
        sd["token_embedding.weight"] = w[t + "embeddings.token_embedding.weight"]
        sd["positional_embedding"] = w[t + "embeddings.position_embedding.weight"]
        for i in range(w.text.layers):
            block(f"transformer.resblocks.{i}", f"{t}encoder.layers.{i}", w.text.width)
        sd["ln_final.weight"] = w[t + "final_layer_norm.weight"]
        sd["ln_final.bias"] = w[t + "final_layer_norm.bias"]
        sd["text_projection"] = w["text_projection.weight"].T.contiguous()
        sd["logit_scale"] = w["logit_scale"].reshape(())
    return sd


def mlp_width(w, tower):
    return w[f"{tower}.encoder.layers.0.mlp.fc1.weight"].shape[0]


def build_openai_style(model_mod, w):
    """The repository's VisionTransformer with the config's heads, inside an object of its CLIP class (so that
    encode_image is the repository's own method). Text tower not built (the image path does not use it)."""
    V = w.vision
    E = w["visual_projection.weight"].shape[0]
    visual = model_mod.VisionTransformer(input_resolution=w.grid * w.patch, patch_size=w.patch, width=V.width,
                                         layers=V.layers, heads=V.heads, output_dim=E)
    sd = {k[len("visual."):]: t for k, t in openai_state_dict(w, mlp_width=4 * V.width).items()
          if k.startswith("visual.")}
    visual.load_state_dict(sd, strict=True)
    net = model_mod.CLIP.__new__(model_mod.CLIP)
    nn.Module.__init__(net)
    net.visual = visual
    return net.to(w.dtype).eval()


def build_open_clip(model_mod, w):
    """ClearCLIP's open_clip CLIP with the checkpoint's geometry, text tower included, full precision."""
    V, T = w.vision, w.text
    E = w["visual_projection.weight"].shape[0]
    if V.act not in ("quick_gelu", "gelu") or V.act != T.act:
        raise ValueError(f"unsupported activation {V.act}/{T.act}")
    vision_cfg = dict(layers=V.layers, width=V.width, head_width=V.width // V.heads,
                      mlp_ratio=mlp_width(w, "vision_model") / V.width, patch_size=w.patch,
                      image_size=w.grid * w.patch)
    text_cfg = dict(context_length=w["text_model.embeddings.position_embedding.weight"].shape[0],
                    vocab_size=w["text_model.embeddings.token_embedding.weight"].shape[0], width=T.width,
                    heads=T.heads, layers=T.layers, mlp_ratio=mlp_width(w, "text_model") / T.width)
    net = model_mod.CLIP(E, vision_cfg=vision_cfg, text_cfg=text_cfg, quick_gelu=V.act == "quick_gelu",
                         cast_dtype=None)
    missing, unexpected = net.load_state_dict(openai_state_dict(w, text=True), strict=False)
    assert not unexpected and all(k == "attn_mask" or k.endswith(".attn_mask") for k in missing), (missing, unexpected)
    return net.to(w.dtype).eval()


# ----------------------------------------------------------------------------------------------------- segmentors

def make_segmentor(cls, **attrs):
    """An official segmentor object without its __init__, holding what its methods read."""
    seg = cls.__new__(cls)
    nn.Module.__init__(seg)
    for k, v in attrs.items():
        setattr(seg, k, v)
    return seg


class Official:
    """One official method: how its segmentor computes the dense features (the net call of forward_feature),
    and the segmentor object for forward_feature / forward_slide."""

    def __init__(self, name, net, seg, features, cite):
        self.name, self.net, self.seg, self._features, self.cite = name, net, seg, features, cite

    def features(self, x):
        """[HW, E] L2-normalised patch features for x [3, H, W], as the segmentor's forward_feature makes them."""
        return self._features(x[None])[0]


def setup_official(args, w, T):
    """Everything that runs official code, keyed by row name."""
    out, notes = {}, []
    Q = T.shape[0]
    if w.vision.act != "quick_gelu" and (args.sclip or args.naclip):
        notes.append("SCLIP/NACLIP skipped: OpenAI's clip/model.py has QuickGELU only, this model says "
                     + w.vision.act)
    if args.clearclip:
        model_mod, _, seg_mod = load_clearclip(args.clearclip)
        net = build_open_clip(model_mod, w)
        seg = make_segmentor(seg_mod.ClearCLIPSegmentation, net=net, clip_type="CLIP", model_type="ClearCLIP",
                             ignore_residual=True, patch_size=net.visual.patch_size, query_features=T,
                             num_queries=Q, dtype=T.dtype)

        def clear_features(model_type, ignore_residual, net=net):
            def f(img):  # clearclip_segmentor.py forward_feature, lines 123-124 (class token already dropped)
                feats = net.encode_image(img, model_type, ignore_residual)
                return feats / feats.norm(dim=-1, keepdim=True)
            return f
        out["clearclip"] = Official("ClearCLIP", net, seg, clear_features("ClearCLIP", True),
                                    "clearclip_segmentor.py:123 encode_image(img, 'ClearCLIP', True)")
        out["clearclip/shipped-config"] = Official(
            "ClearCLIP (configs/base_config.py: model_type='vanilla')", net, None, clear_features("vanilla", True),
            "configs/base_config.py:6 model_type='vanilla', ignore_residual=True")
        out["maskclip/clearclip-repo"] = Official(
            "ClearCLIP repo, model_type='MaskCLIP', ignore_residual=False (not MaskCLIP's own code)", net, None,
            clear_features("MaskCLIP", False), "open_clip/transformer.py:530-531, 604-609")
    if args.sclip and w.vision.act == "quick_gelu":
        model_mod, pamr_mod, seg_mod = load_openai_style(args.sclip, "sclip", "clip_segmentor.py")
        if args.dtype == "float64":
            model_mod.LayerNorm.forward = nn.LayerNorm.forward  # see the module docstring ("float64")
        net = build_openai_style(model_mod, w)
        seg = make_segmentor(seg_mod.CLIPForSegmentation, net=net, query_features=T, num_queries=Q, dtype=T.dtype,
                             pamr=None, align_corners=False)

        def sclip_features(img, net=net):  # clip_segmentor.py forward_feature, lines 63-65
            feats = net.encode_image(img, return_all=True, csa=True)
            feats = feats / feats.norm(dim=-1, keepdim=True)
            return feats[:, 1:]
        out["sclip"] = Official("SCLIP", net, seg, sclip_features,
                                "clip_segmentor.py:63 encode_image(img, return_all=True, csa=True)")
    if args.naclip and w.vision.act == "quick_gelu":
        model_mod, pamr_mod, seg_mod = load_openai_style(args.naclip, "naclip", "naclip.py")
        if args.dtype == "float64":
            model_mod.LayerNorm.forward = nn.LayerNorm.forward
        net = build_openai_style(model_mod, w)
        net.visual.set_params("reduced", "naclip", 5.0)  # naclip.py:21 defaults, :44
        seg = make_segmentor(seg_mod.NACLIP, net=net, query_features=T, num_queries=Q, dtype=T.dtype,
                             query_idx=torch.arange(Q), logit_scale=40, prob_thd=0.0, slide_stride=112,
                             slide_crop=224, align_corners=False, pamr=pamr_mod.PAMR(10, dilations=(8, 16)))

        def naclip_features(img, net=net):  # naclip.py forward_feature, lines 58-60
            feats = net.encode_image(img, return_all=True)[:, 1:]
            return feats / feats.norm(dim=-1, keepdim=True)
        out["naclip"] = Official("NACLIP", net, seg, naclip_features,
                                 "naclip.py:58 encode_image(img, return_all=True), arch='reduced', 'naclip', std 5")
    return out, notes


# ----------------------------------------------------------------------------------------------- conversion check

def conversion_check(w, official, x):
    """The official towers' ordinary forward (vanilla attention, residual, MLP) against transformers' CLIPModel,
    at the checkpoint's own input size: pooled image features and every projected token."""
    from transformers import CLIPModel
    hf = CLIPModel.from_pretrained(w.dir, dtype=w.dtype, attn_implementation="eager").eval()
    px = x[None]
    pooled = hf.get_image_features(pixel_values=px)
    if not torch.is_tensor(pooled):
        pooled = pooled.pooler_output
    hs = hf.vision_model(pixel_values=px).last_hidden_state
    tokens = hf.visual_projection(hf.vision_model.post_layernorm(hs))[0]          # [1+HW, E]
    res = {}

    def rec(name, a, b):
        res[name] = dict(max_abs=(a - b).abs().max().item(), max_rel=((a - b).abs().max() / b.abs().max()).item())

    # The same ordinary forward written with reference.py's float64 pieces (no float32 softmax as in HF's eager
    # attention): isolates the weight conversion at full precision.
    h = F.conv2d(px, w["vision_model.embeddings.patch_embedding.weight"], stride=w.patch)[0].flatten(1).T
    h = torch.cat([w["vision_model.embeddings.class_embedding"][None], h])
    h = h + w["vision_model.embeddings.position_embedding.weight"]
    h = ref.layer_norm(h, w, "vision_model.pre_layrnorm", w.vision.eps)
    for i in range(w.vision.layers):
        h = ref.block(h, w, f"vision_model.encoder.layers.{i}", w.vision)
    tokens_ref = ref.layer_norm(h, w, "vision_model.post_layernorm", w.vision.eps) @ w["visual_projection.weight"].T
    rec("reference-ordinary vs HF", tokens_ref, tokens)

    if "sclip" in official:
        net = official["sclip"].net
        rec("sclip.pooled", net.encode_image(px, return_all=False, csa=False)[0], pooled[0])
        rec("sclip.tokens", net.encode_image(px, return_all=True, csa=False)[0], tokens)
        rec("sclip.tokens vs reference-ordinary", net.encode_image(px, return_all=True, csa=False)[0], tokens_ref)
    if "naclip" in official:
        vis = official["naclip"].net.visual
        vis.set_params("vanilla", "vanilla", 0)
        rec("naclip.pooled", official["naclip"].net.encode_image(px)[0], pooled[0])
        rec("naclip.tokens", official["naclip"].net.encode_image(px, return_all=True)[0], tokens)
        rec("naclip.tokens vs reference-ordinary", official["naclip"].net.encode_image(px, return_all=True)[0],
            tokens_ref)
        vis.set_params("reduced", "naclip", 5.0)
    if "clearclip" in official:
        net = official["clearclip"].net
        net.visual.output_tokens = True
        p, t = net.visual(px, "vanilla", False)
        net.visual.output_tokens = False
        rec("clearclip.pooled", p[0], pooled[0])
        rec("clearclip.tokens", t[0], tokens[1:])
        rec("clearclip.tokens vs reference-ordinary", t[0], tokens_ref[1:])
        ids = [v for v in ref.TOKENIZER_VECTORS.values()]
        ctx = net.context_length
        batch = torch.tensor([i + [0] * (ctx - len(i)) for i in ids])
        mask = torch.tensor([[1] * len(i) + [0] * (ctx - len(i)) for i in ids])
        hf_t = hf.get_text_features(input_ids=batch, attention_mask=mask)
        if not torch.is_tensor(hf_t):
            hf_t = hf_t.pooler_output
        rec("clearclip.text", net.encode_text(batch), hf_t)
    return res


# ------------------------------------------------------------------------------------------------------ the runs

def test_image(h, wd, gen, dtype):
    """A normalised input [3, h, w]: smooth random colour regions plus noise, as uint8, CLIP mean/std."""
    base = torch.rand(1, 3, max(2, h // 24), max(2, wd // 24), generator=gen, dtype=torch.float64)
    img = F.interpolate(base, size=(h, wd), mode="bilinear", align_corners=False)[0] * 255
    img = (img + 25 * torch.randn(3, h, wd, generator=gen, dtype=torch.float64)).clamp(0, 255).round()
    mean = torch.tensor(ref.CLIP_MEAN, dtype=torch.float64)[:, None, None]
    std = torch.tensor(ref.CLIP_STD, dtype=torch.float64)[:, None, None]
    return ((img - mean) / std).to(dtype)


_SCALED_POSITIONS = ref.scaled_position_embedding


def official_position_rule(w, gh, gw):
    """The official code's position embeddings, written out (for the diagnosis column): the table as it is
    whenever the token count equals the checkpoint's, even on a non-square grid; else the scale-factor resize."""
    if gh * gw == w.grid * w.grid:
        return w["vision_model.embeddings.position_embedding.weight"]
    return _SCALED_POSITIONS(w, gh, gw)


@contextlib.contextmanager
def reference_with_official_quirks(official):
    """scripts/reference.py with the official code's two numerical choices plugged in, for the diagnosis column:
    its position rule (above) and, when NACLIP is loaded, NACLIP's own float32 construction of the Gaussian term
    (its VisionTransformer.gaussian_window / get_attention_addition, called as its custom_attn calls them)."""
    saved = ref.scaled_position_embedding, ref.resized_position_embedding, ref.neighbourhood_prior
    ref.scaled_position_embedding = official_position_rule
    ref.resized_position_embedding = official_position_rule
    if "naclip" in official:
        vt = type(official["naclip"].net.visual)

        def omega(gh, gw, dtype, sigma=5.0):
            window = vt.gaussian_window(2 * gh - 1, 2 * gw - 1, std=sigma)
            return vt.get_attention_addition(gh, gw, window).to(dtype)
        ref.neighbourhood_prior = omega
    try:
        yield
    finally:
        ref.scaled_position_embedding, ref.resized_position_embedding, ref.neighbourhood_prior = saved


def ref_mode(row):
    return row.split("/")[0]


def compare_dense(w, T, official, x, preset, diag_tol):
    rows = []
    H, W = x.shape[1:]
    P = w.patch
    gh, gw = H // P, W // P
    for row, off in official.items():
        mode = ref_mode(row)
        f_ref = ref.dense_features(w, x, preset, mode)["features"]
        f_off = off.features(x)
        L_ref, L_off = f_ref @ T.T, f_off @ T.T
        r = dict(row=row, size=f"{H}x{W}", grid=f"{gh}x{gw}", mode=mode, official=off.cite,
                 feat=(f_ref - f_off).abs().max().item(), logit=(L_ref - L_off).abs().max().item(),
                 argmax=100.0 * (L_ref.argmax(1) == L_off.argmax(1)).double().mean().item())
        if off.seg is not None:  # the segmentor's own forward_feature: logits stretched over the input
            up_off = off.seg.forward_feature(x[None])[0]
            up_ref = F.interpolate(L_ref.T.reshape(1, -1, gh, gw), size=(H, W), mode="bilinear",
                                   align_corners=False)[0]
            r["upsampled"] = (up_ref - up_off).abs().max().item()
        if r["logit"] > diag_tol:
            with reference_with_official_quirks(official):
                f_diag = ref.dense_features(w, x, preset, mode)["features"]
            r["logit_with_official_quirks"] = ((f_diag - f_off) @ T.T).abs().max().item()
        rows.append(r)
    return rows


def compare_windows(w, T, official, x, preset, crop, stride):
    rows = []
    H, W = x.shape[1:]
    for row in ("clearclip", "sclip", "naclip"):
        if row not in official:
            continue
        seg = official[row].seg
        if row == "naclip":
            L_off = seg.forward_slide(x[None], stride, crop)[0]
        else:
            L_off = seg.forward_slide(x[None], [dict(ori_shape=(H, W))], stride, crop)[0]
        L_ref = ref.windowed_logits(w, T, x, crop, stride, row, preset)
        rows.append(dict(row=row, size=f"{H}x{W}", window=f"{crop}/{stride}",
                         logit=(L_ref - L_off).abs().max().item(),
                         argmax=100.0 * (L_ref.argmax(0) == L_off.argmax(0)).double().mean().item()))
    return rows


def compare_naclip_pipeline(w, T, official, x, preset, crop, stride, original):
    """NACLIP's predict (windows -> original size -> PAMR 10 x (8, 16) -> softmax(40 s) -> argmax) and its PAMR
    alone on identical inputs, against reference.windowed_logits / pamr / decide.

    NACLIP's PAMR works in float32 only (its kernels are float32 buffers and it writes the affinities into a
    float32 torch.empty, pamr.py:45), as in its own runs, where the image tensor is float32: so the image goes to
    predict() as float32 (the model still runs in its dtype: encode_image casts the crops; the window sums are
    then float32, img.new_zeros at naclip.py:89), and PAMR alone gets float32 copies of the same inputs."""
    seg = official["naclip"].seg
    seg.slide_crop, seg.slide_stride = crop, stride
    sample = DataSample(ori_shape=original, img_path="compare.png")
    caught = []
    handler = logging.Handler()
    handler.emit = caught.append
    logging.getLogger().addHandler(handler)
    try:
        seg.predict(x[None].float(), [sample])
    finally:
        logging.getLogger().removeHandler(handler)
    if caught:  # naclip.py:131-135 skips PAMR with only a warning when it raises
        raise RuntimeError("NACLIP's predict skipped PAMR: " + caught[0].getMessage())
    probs_off = sample.out["seg_logits"].data
    labels_off = sample.out["pred_sem_seg"].data[0]

    s = ref.windowed_logits(w, T, x, crop, stride, "naclip", preset)
    s = F.interpolate(s[None], size=original, mode="bilinear", align_corners=False)[0]
    guide = F.interpolate(x[None], size=original, mode="bilinear", align_corners=False)[0]
    refined = ref.pamr(guide, s, (8, 16), 10)
    labels_ref, _, _ = ref.decide(refined, logit_scale=40.0)
    probs_ref = torch.softmax(40.0 * refined, dim=0)

    pamr_off = seg.pamr(guide[None].float(), s[None].float())[0]   # PAMR alone, same guide and logits
    refined32 = ref.pamr(guide.float(), s.float(), (8, 16), 10)
    return dict(size=f"{x.shape[1]}x{x.shape[2]}", original=f"{original[0]}x{original[1]}", window=f"{crop}/{stride}",
                pamr_alone=(pamr_off - refined).abs().max().item(),
                pamr_alone_both_float32=(pamr_off - refined32).abs().max().item(),
                probabilities=(probs_off - probs_ref).abs().max().item(),
                labels=100.0 * (labels_off == labels_ref).double().mean().item())


def parse_sizes(text):
    return [tuple(int(v) for v in s.lower().split("x")) for s in text.split(",") if s]


def default_sizes(w):
    P, G = w.patch, w.grid
    sizes = [(G * P, G * P),                                       # the checkpoint's own grid
             (math.ceil(1.5 * G) * P, 2 * G * P),                  # larger, landscape
             (max(1, round(0.75 * G)) * P, round(1.25 * G) * P),   # smaller, landscape
             (round(1.25 * G) * P, max(1, round(0.75 * G)) * P),   # portrait
             (G * P + P // 2 + 3, round(1.5 * G) * P + 7)]         # not whole patches (the convolution cuts)
    if G % 2 == 0:
        sizes.append((G // 2 * P, 2 * G * P))                      # non-square with the checkpoint's token count
    return sizes


def default_windows(w):
    """(image size, crop, stride): the checkpoint's own crop, a crop that is not whole patches, and an image
    shorter than the crop (its windows are cut to the image: not whole patches either)."""
    P, G = w.patch, w.grid
    img = (math.ceil(1.5 * G) * P + 5, 2 * G * P + 11)
    odd = G * P - P // 2 - 1
    return [(img, G * P, G * P // 2), (img, odd, odd // 2), ((G * P - P // 2 + 3, 2 * G * P + 11), G * P, G * P // 2)]


def fmt(v):
    return "-" if v is None else (f"{v:.2e}" if isinstance(v, float) else str(v))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="Hugging Face CLIP directory (config.json, model.safetensors)")
    ap.add_argument("--clearclip", help="checkout of github.com/mc-lan/ClearCLIP")
    ap.add_argument("--sclip", help="checkout of github.com/wangf3014/SCLIP")
    ap.add_argument("--naclip", help="checkout of github.com/sinahmr/NACLIP")
    ap.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    ap.add_argument("--sizes", help="input sizes HxW,HxW (default: a set derived from the model's grid)")
    ap.add_argument("--windows", help="sliding windows CROP/STRIDE,... on the default windowed image size")
    ap.add_argument("--no-windows", action="store_true")
    ap.add_argument("--classes", type=int, default=8, help="rows of the random unit class matrix")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if not (args.clearclip or args.sclip or args.naclip):
        ap.error("give at least one of --clearclip, --sclip, --naclip")

    torch.set_grad_enabled(False)
    dtype = getattr(torch, args.dtype)
    tol = 1e-6 if dtype == torch.float64 else 1e-4          # "differs" in the summary line
    diag_tol = 1e-12 if dtype == torch.float64 else 1e-5    # above this the diagnosis column is computed
    w = ref.CLIPWeights(args.model, dtype)
    preset = ref.vision_preset("clip", w)
    gen = torch.Generator().manual_seed(args.seed)
    E = w["visual_projection.weight"].shape[0]
    T = torch.randn(args.classes, E, generator=gen, dtype=torch.float64)
    T = (T / T.norm(dim=-1, keepdim=True)).to(dtype)

    official, notes = setup_official(args, w, T)
    P, G = w.patch, w.grid
    print(f"model {args.model}: patch {P}, grid {G}x{G}, width {w.vision.width}, {w.vision.layers} layers, "
          f"{w.vision.heads} heads, {w.vision.act}; dtype {args.dtype}; {args.classes} random unit classes")
    for n in notes:
        print("note:", n)

    conv = conversion_check(w, official, test_image(G * P, G * P, gen, dtype))
    print("\nconversion check (official ordinary forward vs transformers CLIPModel, native size):")
    for k, v in conv.items():
        print(f"  {k:40s} max|Δ| {v['max_abs']:.2e}  (relative {v['max_rel']:.2e})")

    dense = []
    for h, wd in parse_sizes(args.sizes) if args.sizes else default_sizes(w):
        x = test_image(h, wd, gen, dtype)
        dense += compare_dense(w, T, official, x, preset, diag_tol)
    print("\ndense features and logits (official segmentor's feature call vs reference.dense_features):")
    head = f"  {'row':26s} {'input':>9s} {'grid':>6s} {'feat max|Δ|':>12s} {'logit max|Δ|':>12s} " \
           f"{'argmax %':>8s} {'upsampled':>10s} {'w/ quirks':>11s}"
    print(head)
    for r in dense:
        print(f"  {r['row']:26s} {r['size']:>9s} {r['grid']:>6s} {fmt(r['feat']):>12s} {fmt(r['logit']):>12s} "
              f"{r['argmax']:8.2f} {fmt(r.get('upsampled')):>10s} {fmt(r.get('logit_with_official_quirks')):>11s}")

    windows, pipeline = [], []
    if not args.no_windows:
        specs = default_windows(w)
        if args.windows:
            img = specs[0][0]
            specs = [(img, *(int(v) for v in spec.split("/"))) for spec in args.windows.split(",")]
        for (h, wd), crop, stride in specs:
            x = test_image(h, wd, gen, dtype)
            windows += compare_windows(w, T, official, x, preset, crop, stride)
            if "naclip" in official:
                pipeline.append(compare_naclip_pipeline(w, T, official, x, preset, crop, stride,
                                                        (round(h * 1.3), round(wd * 1.3))))
        print("\nsliding windows (official forward_slide vs reference.windowed_logits, scores over the image):")
        for r in windows:
            print(f"  {r['row']:10s} {r['size']:>9s} window {r['window']:>8s}  logit max|Δ| {fmt(r['logit'])}  "
                  f"argmax {r['argmax']:.2f}%")
        for r in pipeline:
            print(f"  naclip predict {r['size']} -> {r['original']}, window {r['window']}: PAMR alone max|Δ| "
                  f"{fmt(r['pamr_alone'])} ({fmt(r['pamr_alone_both_float32'])} against the reference in float32), "
                  f"probabilities max|Δ| {fmt(r['probabilities'])}, labels {r['labels']:.2f}%")

    bad = [r for r in dense if r["logit"] > tol and not r["row"].endswith("shipped-config")]
    explained = [r for r in bad if r.get("logit_with_official_quirks", 1.0) <= tol]
    print(f"\n{len(bad)} of {len(dense)} dense rows (shipped-config rows aside) differ by more than {tol:g}"
          + (": " + ", ".join(f"{r['row']}@{r['size']}" for r in bad) if bad else "")
          + (f"; {len(explained)} of them agree within {tol:g} once the reference takes the official position rule"
             " and NACLIP's float32 Gaussian term ('w/ quirks')" if bad else ""))
    if windows:
        print(f"sliding windows: largest score difference {max(r['logit'] for r in windows):.2e}, lowest argmax "
              f"agreement {min(r['argmax'] for r in windows):.2f}%")
    print(json.dumps(dict(model=args.model, dtype=args.dtype, patch=P, grid=G, classes=args.classes,
                          conversion=conv, dense=dense, windows=windows, naclip_pipeline=pipeline, notes=notes,
                          tolerance=tol)))


if __name__ == "__main__":
    main()
