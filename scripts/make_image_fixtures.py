#!/usr/bin/env python3
"""Makes the image-codec fixtures in Tests/InferenceTests/Fixtures/images/.

Run by hand (not by CI) with a Python that has Pillow and NumPy:

    /root/mlvenv/bin/python scripts/make_image_fixtures.py

For every decodable image NAME.EXT it writes NAME.rgb, the raw bytes of PIL's
Image.open(f).convert("RGB") (row-major RGB), which ImageCodec.decode must reproduce. One deliberate
exception: gray16.rgb holds the high byte of each sample, because PIL's I;16 -> RGB conversion clamps
every value above 255 to 255 instead of scaling. Label PNGs get NAME.idx, the raw indices PIL reads.
Layouts PIL cannot write (16-bit RGB, Adam7 interlace, the 60000x60000 header) are written by the small
PNG writer below.
"""
import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

OUT = Path(__file__).resolve().parent.parent / "Tests/InferenceTests/Fixtures/images"
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def png_from_array(pixels: np.ndarray, color_type: int, interlace: bool = False) -> bytes:
    """pixels: (h, w, channels) uint8 or uint16; rows are written unfiltered (filter byte 0)."""
    height, width = pixels.shape[:2]
    depth = 16 if pixels.dtype == np.uint16 else 8
    samples = pixels.astype(">u2" if depth == 16 else "u1")
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    raw = b""
    for x0, y0, dx, dy in passes:
        sub = samples[y0::dy, x0::dx]
        if sub.size:
            raw += b"".join(b"\0" + row.tobytes() for row in sub)
    ihdr = struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, 1 if interlace else 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def pattern(height: int, width: int, channels: int, seed: int) -> np.ndarray:
    """Smooth gradients plus noise: exercises both chroma upsampling and exact byte values."""
    rng = np.random.RandomState(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1), (x + y) * 7 % 256, x * y * 11 % 256], -1)
    noisy = base[..., :channels] + rng.randint(-20, 21, size=(height, width, channels))
    return np.clip(noisy, 0, 255).astype(np.uint8)


def pil_bytes(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def save(name: str, data: bytes, expected: bytes | None = None) -> None:
    (OUT / name).write_bytes(data)
    if expected is None:
        try:  # every decodable fixture gets PIL's RGB bytes
            expected = Image.open(io.BytesIO(data)).convert("RGB").tobytes()
        except Exception as error:
            print(f"{name}: PIL cannot decode it ({type(error).__name__}: {error})")
            return
    (OUT / name).with_suffix(".rgb").write_bytes(expected)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    rgb = pattern(7, 13, 3, 1)
    save("rgb.png", pil_bytes(Image.fromarray(rgb, "RGB"), "PNG"))
    save("rgba.png", pil_bytes(Image.fromarray(pattern(7, 13, 4, 2), "RGBA"), "PNG"))
    save("gray.png", pil_bytes(Image.fromarray(pattern(9, 11, 1, 3)[..., 0], "L"), "PNG"))
    save("gray_alpha.png", pil_bytes(Image.fromarray(pattern(9, 11, 2, 4), "LA"), "PNG"))
    save("gray1.png", pil_bytes(Image.fromarray(pattern(6, 10, 1, 5)[..., 0] > 128), "PNG"))
    palette = Image.fromarray(pattern(8, 12, 3, 6), "RGB").quantize(colors=40)
    save("palette_trns.png", pil_bytes(palette, "PNG", transparency=bytes(range(0, 240, 6))))
    save("rgb16.png", png_from_array(pattern(5, 7, 3, 7).astype(np.uint16) * 257 + 0x55, 2))
    gray16 = (np.arange(35, dtype=np.uint16) * 1871).reshape(5, 7, 1)
    save("gray16.png", png_from_array(gray16, 0), np.repeat(gray16 >> 8, 3, axis=2).astype(np.uint8).tobytes())
    save("interlaced.png", png_from_array(pattern(11, 17, 3, 8), 2, interlace=True))
    save("one_by_one.png", pil_bytes(Image.new("RGB", (1, 1), (12, 34, 56)), "PNG"))

    photo = Image.fromarray(pattern(29, 37, 3, 9), "RGB")
    save("baseline.jpg", pil_bytes(photo, "JPEG", quality=90))
    save("progressive.jpg", pil_bytes(photo, "JPEG", quality=85, progressive=True))
    save("grayscale.jpg", pil_bytes(photo.convert("L"), "JPEG", quality=90))
    save("cmyk.jpg", pil_bytes(Image.fromarray(pattern(21, 27, 4, 10), "CMYK"), "JPEG", quality=90))

    baseline = (OUT / "baseline.jpg").read_bytes()
    # Scan data cut short but the file still ends in EOI: libjpeg warns "Corrupt JPEG data: premature
    # end of data segment", fills the rest, and PIL accepts it; so must the decoder, with PIL's pixels.
    save("corrupt_segment.jpg", baseline[: len(baseline) * 2 // 3] + b"\xff\xd9")
    (OUT / "truncated.jpg").write_bytes(baseline[: len(baseline) * 2 // 3])
    good_png = (OUT / "rgb.png").read_bytes()
    (OUT / "truncated.png").write_bytes(good_png[: len(good_png) - 30])
    bad_crc = bytearray(good_png)
    bad_crc[29] ^= 0xFF  # last byte of the IHDR CRC
    (OUT / "bad_crc.png").write_bytes(bytes(bad_crc))
    (OUT / "empty.png").write_bytes(b"")
    (OUT / "text.jpg").write_bytes(b"this is not an image, despite the name\n")
    ihdr = struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0)
    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    (OUT / "bomb.png").write_bytes(bomb)

    labels = np.array([[(x + 3 * y) % 21 if (x + y) % 9 else 255 for x in range(23)] for y in range(17)], np.uint8)
    voc = Image.fromarray(labels, "P")
    voc.putpalette([c for i in range(256) for c in voc_color(i)])
    save_label("label_voc.png", voc)
    small = Image.fromarray(labels % 16, "P")
    small.putpalette([c for i in range(16) for c in voc_color(i)])  # 16 colours: PIL writes 4 bits per pixel
    save_label("label_4bit.png", small)
    save_label("label_gray.png", Image.fromarray(labels, "L"))


def voc_color(index: int) -> tuple[int, int, int]:
    r = g = b = 0
    for shift in range(7, -1, -1):
        r |= (index & 1) << shift
        g |= ((index >> 1) & 1) << shift
        b |= ((index >> 2) & 1) << shift
        index >>= 3
    return r, g, b


def save_label(name: str, image: Image.Image) -> None:
    data = pil_bytes(image, "PNG")
    (OUT / name).write_bytes(data)
    print(f"{name}: bit depth {data[24]}, colour type {data[25]}")
    (OUT / name).with_suffix(".idx").write_bytes(np.array(Image.open(io.BytesIO(data))).astype(np.uint8).tobytes())


if __name__ == "__main__":
    main()
