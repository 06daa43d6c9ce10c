"""Decompression bombs built from bytes: tiny files that declare huge pictures.

Also used by `bench/bombs.py`. Nothing here allocates the picture: zero rows are compressed a
block at a time, so a 12000x12000 PNG is made in well under a second and a few hundred KB.
"""

from __future__ import annotations

import struct
import zlib

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: PNG colour types: grey, RGB, palette, grey+alpha, RGBA.
GREY, RGB, PALETTE, GREY_ALPHA, RGBA = 0, 2, 3, 4, 6
_CHANNELS = {GREY: 1, RGB: 3, PALETTE: 1, GREY_ALPHA: 2, RGBA: 4}


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_row_bytes(width: int, colour_type: int = RGB, depth: int = 8) -> int:
    """Bytes of one filtered row: the filter byte and the packed samples."""
    return 1 + (width * _CHANNELS[colour_type] * depth + 7) // 8


def png_bomb(
    width: int = 12_000,
    height: int = 12_000,
    *,
    colour_type: int = RGB,
    depth: int = 8,
    rows: int | None = None,
) -> bytes:
    """A PNG of zeros declaring `width` x `height`.

    `rows=None` writes every row (a valid file: ~420 KB for 12000x12000 RGB, ~17 KB at 1 bit);
    `rows=1` writes one complete zlib stream that ends after the first row: ~130 bytes, the
    pen test's file, which decoders that do not check the stream length accept.
    """
    header = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    row = png_row_bytes(width, colour_type, depth)
    stream = zlib_zeros((height if rows is None else rows) * row)
    palette = png_chunk(b"PLTE", b"\x00\x00\x00\xff\xff\xff") if colour_type == PALETTE else b""
    return (
        PNG_SIGNATURE
        + png_chunk(b"IHDR", header)
        + palette
        + png_chunk(b"IDAT", stream)
        + png_chunk(b"IEND", b"")
    )


def zlib_zeros(size: int, block: int = 1 << 20) -> bytes:
    """A zlib stream of `size` zero bytes, made by compressing one block and repeating it.

    After a full flush deflate starts afresh on a byte boundary, so identical blocks compress to
    identical bytes; the Adler-32 of n zeros is (n mod 65521) << 16 | 1.
    """
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    whole = packer.compress(bytes(block)) + packer.flush(zlib.Z_FULL_FLUSH)
    tail = zlib.compressobj(9, zlib.DEFLATED, -15)
    last = tail.compress(bytes(size % block)) + tail.flush()
    adler = ((size % 65521) << 16) | 1
    return b"\x78\xda" + whole * (size // block) + last + struct.pack(">I", adler)


def gif_bomb(width: int = 10_000, height: int = 15_000) -> bytes:
    """A valid GIF: one 1x1 frame on a `width` x `height` logical screen (35 bytes)."""
    screen = struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    frame = b"," + struct.pack("<HHHHB", 0, 0, 1, 1, 0)
    pixels = b"\x02\x02\x44\x01\x00"  # LZW, minimum code size 2: clear, index 0, end
    return b"GIF89a" + screen + frame + pixels + b";"


def tiff_bomb(width: int = 12_000, height: int = 12_000, rows_per_strip: int = 32) -> bytes:
    """A valid 8-bit grey TIFF of zeros, deflate-compressed, whose strips all point at one
    compressed strip (a few KB for 144 MP). `height` must be a multiple of `rows_per_strip`."""
    assert height % rows_per_strip == 0
    strips = height // rows_per_strip
    strip = zlib_zeros(width * rows_per_strip)
    tags = [  # (tag, type: 3 SHORT / 4 LONG, count, value or offset)
        (256, 4, 1, width),
        (257, 4, 1, height),
        (258, 3, 1, 8),
        (259, 3, 1, 8),  # Adobe deflate
        (262, 3, 1, 1),  # black is zero
        (273, 4, strips, 0),  # strip offsets: filled in below
        (277, 3, 1, 1),
        (278, 4, 1, rows_per_strip),
        (279, 4, strips, 0),  # strip byte counts
    ]
    ifd_size = 2 + 12 * len(tags) + 4
    offsets_at = 8 + ifd_size
    counts_at = offsets_at + 4 * strips
    data_at = counts_at + 4 * strips
    ifd = struct.pack("<H", len(tags))
    for tag, kind, count, value in tags:
        value = {273: offsets_at, 279: counts_at}.get(tag, value)
        packed = struct.pack("<HI", value, 0)[:4] if kind == 3 else struct.pack("<I", value)
        ifd += struct.pack("<HHI", tag, kind, count) + packed
    ifd += struct.pack("<I", 0)
    arrays = struct.pack(f"<{strips}I", *[data_at] * strips)
    arrays += struct.pack(f"<{strips}I", *[len(strip)] * strips)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + arrays + strip
