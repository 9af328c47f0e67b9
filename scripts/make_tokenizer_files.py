#!/usr/bin/env python3
"""Write CLIP's Hugging Face tokenizer files (vocab.json, merges.txt) from the original BPE merges file.

Standard library only. vocab.json is derived exactly as docs/maskclip.md says: the 256 byte symbols, the same
with '</w>', the 48,894 merge results in rank order, then <|startoftext|> and <|endoftext|>.

    python3 scripts/make_tokenizer_files.py scripts/data/clip/bpe_simple_vocab_16e6.txt.gz OUT_DIR
"""
import gzip
import json
import os
import sys

MERGES_USED = 49152 - 256 - 2  # 48,894


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable character table."""
    printable = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
                 + list(range(ord("®"), ord("ÿ") + 1)))
    chars = list(printable)
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(printable, (chr(c) for c in chars)))


def main():
    src, out = sys.argv[1], sys.argv[2]
    lines = gzip.open(src, "rt", encoding="utf-8").read().split("\n")
    merges = [tuple(line.split()) for line in lines[1:1 + MERGES_USED]]
    assert len(merges) == MERGES_USED and all(len(m) == 2 for m in merges)
    symbols = list(bytes_to_unicode().values())
    vocab = symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump({tok: i for i, tok in enumerate(vocab)}, f, ensure_ascii=False)
    with open(os.path.join(out, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        f.write("".join(f"{a} {b}\n" for a, b in merges))
    print(f"{len(vocab)} tokens, {len(merges)} merges -> {out}")


if __name__ == "__main__":
    main()
