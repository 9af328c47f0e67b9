#!/usr/bin/env python3
"""Write Tests/InferenceTests/Fixtures/tokenizer_vectors.json: CLIP token ids for a few hundred varied strings.

The ids follow docs/maskclip.md section 2 (openai/CLIP's simple_tokenizer without ftfy): `SpecTokenizer` below.
Every string is also run through Hugging Face's CLIPTokenizer loaded from the same vocab.json/merges.txt, and
each vector records whether HF agrees. HF differs by design where its normalizer differs from the spec: it does
not HTML-unescape, it NFC-normalizes, it cuts out special tokens before cleaning, its split pattern is
case-sensitive, its \\s leaves out U+001C-U+001F and its lower-casing has no Final_Sigma rule. Vectors where HF
disagrees keep the spec's ids and say why in "note". Strings longer than 77 tokens are left out (the Swift tests
cover the length limit separately).

    /root/mlvenv/bin/python scripts/make_tokenizer_vectors.py
"""
import html
import json
import os
import re
import sys
import unicodedata

import regex
from transformers import CLIPTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "Tests", "InferenceTests", "Fixtures")
MODEL_DIR = os.path.join(FIXTURES, "tiny-clip")
PATTERN = regex.compile(
    r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
    regex.IGNORECASE)
SPECIALS = ("<|startoftext|>", "<|endoftext|>")

SPEC_VECTORS = [
    ("a photo of a cat.", [49406, 320, 1125, 539, 320, 2368, 269, 49407]),
    ("a bad photo of a airplane.", [49406, 320, 2103, 1125, 539, 320, 16451, 269, 49407]),
    ("a photo of a tv monitor.", [49406, 320, 1125, 539, 320, 1583, 10198, 269, 49407]),
    ("there is a potted plant in the scene.", [49406, 997, 533, 320, 48581, 3912, 530, 518, 3562, 269, 49407]),
    ("itap of my dining table.", [49406, 529, 2728, 539, 607, 8658, 2175, 269, 49407]),
    ("a photo of a Dog.", [49406, 320, 1125, 539, 320, 1929, 269, 49407]),
]


def bytes_to_unicode():
    """GPT-2's byte -> printable character table."""
    printable = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
                 + list(range(ord("®"), ord("ÿ") + 1)))
    chars, extra = list(printable), 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(printable, (chr(c) for c in chars)))


class SpecTokenizer:
    """docs/maskclip.md section 2, written out plainly."""

    def __init__(self, model_dir):
        with open(os.path.join(model_dir, "vocab.json"), encoding="utf-8") as f:
            self.vocab = json.load(f)
        with open(os.path.join(model_dir, "merges.txt"), encoding="utf-8") as f:
            lines = [line for line in f.read().split("\n")[1:] if line]
        self.ranks = {tuple(line.split(" ")): rank for rank, line in reversed(list(enumerate(lines)))}
        self.byte_symbols = bytes_to_unicode()

    @staticmethod
    def clean(text):
        text = html.unescape(html.unescape(text))
        return re.sub(r"\s+", " ", text).strip().lower()

    def bpe(self, word):
        symbols = list(word[:-1]) + [word[-1] + "</w>"]
        while len(symbols) > 1:
            pairs = {(a, b) for a, b in zip(symbols, symbols[1:])}
            best = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            merged, i = [], 0
            while i < len(symbols):
                if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == best:
                    merged.append(symbols[i] + symbols[i + 1])
                    i += 2
                else:
                    merged.append(symbols[i])
                    i += 1
            symbols = merged
        return symbols

    def encode(self, text):
        ids = [self.vocab["<|startoftext|>"]]
        for piece in PATTERN.findall(self.clean(text)):
            if piece in SPECIALS:
                ids.append(self.vocab[piece])
                continue
            word = "".join(self.byte_symbols[b] for b in piece.encode("utf-8"))
            ids.extend(self.vocab[token] for token in self.bpe(word))
        return ids + [self.vocab["<|endoftext|>"]]


VOC = ["aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow", "dining table",
       "dog", "horse", "motorbike", "person", "potted plant", "sheep", "sofa", "train", "tv monitor"]
COCO = ["person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
        "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
        "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
        "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
        "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
        "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
        "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard",
        "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase",
        "scissors", "teddy bear", "hair drier", "toothbrush"]
CONTEXT = ["aeroplane", "bag", "bed", "bedclothes", "bench", "bicycle", "bird", "boat", "book", "bottle",
           "building", "bus", "cabinet", "car", "cat", "ceiling", "chair", "cloth", "computer", "cow", "cup",
           "curtain", "dog", "door", "fence", "floor", "flower", "food", "grass", "ground", "horse", "keyboard",
           "light", "motorbike", "mountain", "mouse", "person", "plate", "platform", "pottedplant", "road",
           "rock", "sheep", "shelves", "sidewalk", "sign", "sky", "snow", "sofa", "diningtable", "track",
           "train", "tree", "truck", "tvmonitor", "wall", "water", "window", "wood"]
STUFF = ["banner", "blanket", "branch", "bridge", "building-other", "bush", "cardboard", "carpet",
         "ceiling-other", "ceiling-tile", "clouds", "counter", "cupboard", "desk-stuff", "dirt", "door-stuff",
         "fence", "floor-marble", "floor-tile", "floor-wood", "fog", "food-other", "fruit", "furniture-other",
         "grass", "gravel", "ground-other", "hill", "house", "leaves", "light", "mat", "metal", "mirror-stuff",
         "moss", "mud", "napkin", "net", "paper", "pavement", "pillow", "plant-other", "plastic", "platform",
         "playingfield", "railing", "railroad", "river", "road", "rock", "roof", "rug", "salad", "sand", "sea",
         "shelf", "sky-other", "skyscraper", "snow", "solid-other", "stairs", "stone", "straw",
         "structural-other", "table", "tent", "textile-other", "towel", "tree", "vegetable", "wall-brick",
         "wall-concrete", "wall-other", "wall-panel", "wall-stone", "wall-tile", "wall-wood", "water-other",
         "waterdrops", "window-blind", "window-other", "wood"]
TEMPLATES = ["a photo of a {}.", "there is a {} in the scene.", "a bad photo of the {}.", "itap of a {}.",
             "a photo of the small {}.", "a close-up photo of a {}.", "this is one {} in the scene.",
             "a black and white photo of the {}."]

HANDWRITTEN = [
    "", " ", "   \t\n  ", "cat", "Cat", "CAT", "A PHOTO OF A DOG.", "a Photo Of A TV Monitor.",
    "a  photo\tof\na   cat .", "  leading and trailing spaces  ", "a\u00a0photo\u3000of\u2003a cat",
    "line\r\nbreaks\x0bvertical\x0cform\x1cseparator\x1fend\x85next",
    "café", "naïve", "Ångström", "Zürich façade", "crème brûlée", "jalapeño", "piñata", "smörgåsbord",
    "Straße", "STRASSE", "ẞ", "İstanbul", "ıi", "ΟΔΟΣ ΣΑΣ σ Σ", "Σ", "aΣ.", "ǅungla", "ﬁsh ﬂower",
    "\u212a kelvin", "日本", "日本 japan", "猫の写真", "一只猫在沙发上", "고양이 사진", "кошка на диване",
    "Кошка", "قطة على الأريكة", "חתול", "บ้านแมว", "बिल्ली की तस्वीर", "ελληνικά", "türkçe ğüşıöç",
    "cafe\u0301 (decomposed)", "n\u0303", "a\u0345b", "\u1f80", "emoji 🐱 cat", "🐶🐱🐭", "🇯🇵 flag",
    "👨‍👩‍👧 family", "zero\u200bwidth", "soft\u00adhyphen", "bom\ufeffhere", "nul\x00char", "bell\x07",
    "3d", "2024", "a 3d model from 2024", "1234567890", "3.14159", "$3.50", "50%", "1st 2nd 3rd 4th",
    "½ ¼ ¾", "x² y³", "Ⅻ roman", "٣ arabic digit", "१२३", "①②③", "10,000 people", "7-eleven", "covid-19",
    "!!", "...", "!!!???...", "a.b.c", "cat!!", "dog?!", "(cat)", "[dog]", "{bird}", "\"quoted\"", "'single'",
    "it's", "we'll", "they're", "i've", "i'm", "he'd", "don't", "can't", "won't", "it'S", "I'LL", "WE'RE",
    "o'clock", "rock'n'roll", "''s", "'''", "!!'s", "a'sb", "'s", "'ſ", "'ſtart", "its'", "dogs' toys",
    "cat’s", "“curly quotes”", "en–dash em—dash", "…", "c++", "c#", "node.js", "e-mail", "t-shirt", "a/b",
    "https://example.com/a?b=c&d=e", "user@example.com", "#cat", "@user", "snake_case_name", "CamelCaseName",
    "&amp;", "&lt;cat&gt;", "&quot;dog&quot;", "&apos;s", "it&#39;s", "&#x27;hi&#x27;", "&nbsp;space",
    "&amp;amp;", "&amp;lt;b&amp;gt;", "fish &amp; chips", "AT&T", "R&D", "a & b", "&", "&&", "&;", "&#;",
    "&#", "&#x;", "&#65;&#66;&#67;", "&#x41&#x42", "&#0;", "&#128;", "&#x80;", "&#x81;", "&#x9f;", "&#127;",
    "&#11;", "&#13;x", "&#xD800;", "&#1114112;", "&#99999999999999999999;", "&#xFFFF;", "&#xFDD0;",
    "&eacute;t&eacute;", "&copy; 2024", "&copy2024", "&ampfoo", "&notit;", "&notin;", "&AMP;", "&Amp;",
    "&hellip;", "&mdash;", "&euro;5", "&trade;", "&alpha;&beta;&gamma;", "&Sigma;&sigma;&sigmaf;",
    "&frac12;", "&times;", "&unknownentity;", "&nbsp", "&ltcat", "&lt;|endoftext|&gt;",
    "<|startoftext|>", "<|endoftext|>", "a cat<|endoftext|>a dog", "!<|endoftext|>", "<|STARTOFTEXT|>",
    "<|ſtartoftext|>", "<|endoftext", "<|endoftext|", "< | endoftext | >", "<|startoftext|><|endoftext|>",
    "a photo of a cat with a very long description that keeps going on and on about the scene and its colors",
    "a photo of a " + "very " * 30 + "big cat.",
    "supercalifragilisticexpialidocious", "pneumonoultramicroscopicsilicovolcanoconiosis", "aaaaaaaaaaaa",
    "lollollollol", "mississippi", "abcabcabc", "xyzzy", "qwertyuiop", "the the the", "a" * 40,
]


def strings():
    out = []
    for names, templates in ((VOC, TEMPLATES[:4]), (COCO, TEMPLATES[4:6]), (CONTEXT, TEMPLATES[6:7]),
                             (STUFF, TEMPLATES[7:8])):
        out += [t.format(n) for n in names for t in templates]
    out += HANDWRITTEN
    seen, unique = set(), []
    for s in out:
        if s not in seen:
            seen.add(s)
            unique.append(s)
    return unique


def why_hf_differs(text):
    checks = [
        (html.unescape(html.unescape(text)) != text, "HF does not HTML-unescape"),
        (unicodedata.normalize("NFC", text) != text, "HF NFC-normalizes"),
        (any(s in text.lower() for s in SPECIALS),
         "HF cuts out exact special tokens anywhere in the raw text, before cleaning and splitting"),
        ("\u017f" in text or "\u0345" in text,
         "HF's split pattern is not case-insensitive ('\u017f matches 's, U+0345 is skipped)"),
        (any("\x1c" <= c <= "\x1f" for c in text), "HF's \\s does not include U+001C-U+001F"),
        ("\u03a3" in text, "HF lower-cases without the Final_Sigma rule"),
    ]
    return "; ".join(reason for applies, reason in checks if applies) or "unexplained"


def main():
    hf = CLIPTokenizer.from_pretrained(MODEL_DIR)
    spec = SpecTokenizer(MODEL_DIR)
    for text, ids in SPEC_VECTORS:
        assert hf(text)["input_ids"] == ids, (text, hf(text)["input_ids"])
        assert spec.encode(text) == ids, (text, spec.encode(text))
    vectors, skipped, unexplained = [], 0, []
    for text in strings():
        ids = spec.encode(text)
        if len(ids) > 77:
            skipped += 1
            continue
        vector = {"text": text, "ids": ids}
        if hf(text)["input_ids"] != ids:
            vector["note"] = "HF differs: " + why_hf_differs(text)
            if vector["note"].endswith("unexplained"):
                unexplained.append(text)
        vectors.append(vector)
    path = os.path.join(FIXTURES, "tokenizer_vectors.json")
    with open(path, "w", encoding="utf-8") as f:
        f.write('{"about": "CLIP token ids per docs/maskclip.md section 2 (scripts/make_tokenizer_vectors.py)",\n')
        f.write(' "vectors": [\n')
        f.write(",\n".join("  " + json.dumps(v, ensure_ascii=False) for v in vectors))
        f.write("\n]}\n")
    differing = sum("note" in v for v in vectors)
    print(f"{len(vectors)} vectors ({differing} where HF differs, {skipped} over 77 tokens left out) -> {path}")
    for text in unexplained:
        print("unexplained HF difference:", repr(text), file=sys.stderr)


if __name__ == "__main__":
    main()
