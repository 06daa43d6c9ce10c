"""Draw the sample images that ship under ``client/`` (run with ``make samples``).

The README walks a newcomer through uploading ``client/sample_images`` (recursively, hence the
``nested/`` folder) and then ``client/sample_images2``, whose ``cat_copied.jpg`` is a byte-for-byte
copy of ``sample_images/cat_1.jpg`` so that the server's dedupe of identical bytes is visible.

The pictures are drawn here rather than downloaded or copied from real photos because:

* their licence is unambiguous (we made them) and nobody's photo, face or GPS position ends up in
  the repository;
* they are small (~800x600, all files together well under 600 KB) yet recognisable in a gallery;
* they are reproducible: randomness is seeded and nothing depends on the clock, so running this
  script twice gives byte-identical files and a regenerated sample never shows up as a diff;
* the JPEGs carry fixed, GPS-free EXIF (Make, Model, DateTimeOriginal, ImageDescription) so the
  metadata features have something real to show.

Every picture is drawn at ``SUPERSAMPLE`` times its final size and scaled down, which gives smooth
(anti-aliased) edges without any extra dependency.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter
from PIL.ExifTags import IFD, Base

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLES_DIR = REPO_ROOT / "client" / "sample_images"
SAMPLES2_DIR = REPO_ROOT / "client" / "sample_images2"

WIDTH, HEIGHT = 800, 600
SUPERSAMPLE = 2
JPEG_QUALITY = 85
WEBP_QUALITY = 80
GIF_COLOURS = 256

RGB = tuple[int, int, int]
RGBA = tuple[int, int, int, int]
Point = tuple[float, float]


class Canvas:
    """A supersampled drawing surface addressed in final-image (800x600) coordinates."""

    def __init__(self, background: Image.Image) -> None:
        size = (WIDTH * SUPERSAMPLE, HEIGHT * SUPERSAMPLE)
        self.image = background.convert("RGB").resize(size, Image.Resampling.BICUBIC)
        # RGBA drawing on an RGB image blends translucent fills (shadows, glows) into it.
        self._draw = ImageDraw.Draw(self.image, "RGBA")

    @staticmethod
    def _xy(points: Sequence[Point]) -> list[tuple[float, float]]:
        return [(x * SUPERSAMPLE, y * SUPERSAMPLE) for x, y in points]

    @staticmethod
    def _box(x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
        k = SUPERSAMPLE
        return (x0 * k, y0 * k, x1 * k, y1 * k)

    def ellipse(
        self, cx: float, cy: float, rx: float, ry: float, fill: RGB | RGBA, angle: float = 0.0
    ) -> None:
        """Fill an ellipse centred on (cx, cy), rotated by ``angle`` degrees."""
        if angle == 0.0:
            self._draw.ellipse(self._box(cx - rx, cy - ry, cx + rx, cy + ry), fill=fill)
            return
        a = math.radians(angle)
        points = []
        for i in range(72):
            t = 2 * math.pi * i / 72
            x, y = rx * math.cos(t), ry * math.sin(t)
            points.append(
                (cx + x * math.cos(a) - y * math.sin(a), cy + x * math.sin(a) + y * math.cos(a))
            )
        self.polygon(points, fill)

    def polygon(self, points: Sequence[Point], fill: RGB | RGBA) -> None:
        self._draw.polygon(self._xy(points), fill=fill)

    def line(self, points: Sequence[Point], fill: RGB | RGBA, width: float) -> None:
        """A stroked polyline with round joints and round caps."""
        w = max(1, round(width * SUPERSAMPLE))
        self._draw.line(self._xy(points), fill=fill, width=w, joint="curve")
        for x, y in (points[0], points[-1]):
            r = width / 2
            self._draw.ellipse(self._box(x - r, y - r, x + r, y + r), fill=fill)

    def arc(
        self,
        box: tuple[float, float, float, float],
        start: float,
        end: float,
        fill: RGB,
        width: float,
    ) -> None:
        """An arc of the ellipse in ``box``; angles in degrees, clockwise from 3 o'clock."""
        self._draw.arc(self._box(*box), start, end, fill=fill, width=round(width * SUPERSAMPLE))

    def finish(self) -> Image.Image:
        return self.image.resize((WIDTH, HEIGHT), Image.Resampling.LANCZOS)


def bezier(p0: Point, p1: Point, p2: Point, p3: Point, steps: int = 40) -> list[Point]:
    """Points along a cubic Bézier curve (tails, branches)."""
    out = []
    for i in range(steps + 1):
        t = i / steps
        u = 1 - t
        out.append(
            (
                u**3 * p0[0] + 3 * u * u * t * p1[0] + 3 * u * t * t * p2[0] + t**3 * p3[0],
                u**3 * p0[1] + 3 * u * u * t * p1[1] + 3 * u * t * t * p2[1] + t**3 * p3[1],
            )
        )
    return out


def gradient(stops: Sequence[tuple[float, RGB]], height: int = HEIGHT) -> Image.Image:
    """A vertical gradient through colour ``stops`` given as (fraction of height, colour)."""
    column = Image.new("RGB", (1, height))
    for y in range(height):
        f = y / (height - 1)
        for (f0, c0), (f1, c1) in itertools.pairwise(stops):
            if f0 <= f <= f1:
                t = (f - f0) / (f1 - f0) if f1 > f0 else 0.0
                column.putpixel(
                    (0, y), tuple(round(a + (b - a) * t) for a, b in zip(c0, c1, strict=True))
                )
                break
    return column.resize((WIDTH, height), Image.Resampling.NEAREST)


def soft_texture(image: Image.Image, rng: random.Random, strength: float) -> Image.Image:
    """Lighten and darken ``image`` by a few percent in soft, cloudy blotches (seeded)."""
    size = image.size
    mask: Image.Image | None = None
    for cells_x, cells_y in ((8, 6), (32, 24), (100, 75)):
        noise = Image.frombytes("L", (cells_x, cells_y), rng.randbytes(cells_x * cells_y))
        octave = noise.resize(size, Image.Resampling.BICUBIC)
        mask = octave if mask is None else Image.blend(mask, octave, 0.4)
    assert mask is not None
    mask = mask.filter(ImageFilter.GaussianBlur(2))
    lighter = ImageEnhance.Brightness(image).enhance(1 + strength)
    darker = ImageEnhance.Brightness(image).enhance(1 - strength)
    return Image.composite(lighter, darker, mask)


def glow(canvas: Canvas, cx: float, cy: float, radius: float, colour: RGB, alpha: int) -> None:
    """A blurred translucent disc, for the sun's halo and soft clouds."""
    k = SUPERSAMPLE
    layer = Image.new("RGBA", canvas.image.size, (*colour, 0))
    ImageDraw.Draw(layer).ellipse(
        ((cx - radius) * k, (cy - radius) * k, (cx + radius) * k, (cy + radius) * k),
        fill=(*colour, alpha),
    )
    layer = layer.filter(ImageFilter.GaussianBlur(radius * k / 2))
    canvas.image.paste(layer, (0, 0), layer)


def shade(colour: RGB, factor: float) -> RGB:
    """``colour`` darkened (factor < 1) or lightened towards white (factor > 1)."""
    if factor <= 1:
        return (round(colour[0] * factor), round(colour[1] * factor), round(colour[2] * factor))
    t = factor - 1
    return (
        round(colour[0] + (255 - colour[0]) * t),
        round(colour[1] + (255 - colour[1]) * t),
        round(colour[2] + (255 - colour[2]) * t),
    )


# --- the cats (JPEG) ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CatStyle:
    seed: int
    sky: tuple[RGB, RGB]
    floor: RGB
    fur: RGB
    stripes: RGB
    chest: RGB
    eyes: RGB
    cx: float = 400
    base: float = 540
    yarn: RGB | None = None


ORANGE_TABBY = CatStyle(
    seed=1,
    sky=((252, 214, 180), (214, 190, 232)),
    floor=(196, 150, 120),
    fur=(232, 142, 58),
    stripes=(176, 88, 30),
    chest=(250, 226, 196),
    eyes=(120, 190, 70),
)
GREY_WITH_YARN = CatStyle(
    seed=2,
    sky=((190, 222, 240), (240, 236, 214)),
    floor=(150, 170, 120),
    fur=(140, 144, 156),
    stripes=(86, 88, 100),
    chest=(228, 228, 232),
    eyes=(226, 180, 50),
    cx=340,
    yarn=(214, 60, 90),
)
BLACK_AT_DUSK = CatStyle(
    seed=3,
    sky=((60, 70, 120), (170, 140, 190)),
    floor=(90, 80, 110),
    fur=(44, 42, 48),
    stripes=(24, 22, 28),
    chest=(240, 240, 240),
    eyes=(90, 200, 220),
)


def draw_cat(style: CatStyle) -> Image.Image:
    """A sitting cat facing the viewer, on a textured gradient with a floor."""
    rng = random.Random(style.seed)
    background = gradient(
        [
            (0.0, style.sky[0]),
            (0.72, style.sky[1]),
            (0.72, style.floor),
            (1.0, shade(style.floor, 0.8)),
        ]
    )
    canvas = Canvas(soft_texture(background, rng, 0.06))
    cx, base = style.cx, style.base
    hy = base - 300
    dark = shade(style.fur, 0.45)
    pink = (236, 150, 160)

    canvas.ellipse(cx + 20, base, 190, 26, (0, 0, 0, 60))  # shadow
    tail = bezier(
        (cx + 100, base - 30), (cx + 230, base - 10), (cx + 260, base - 150), (cx + 190, base - 230)
    )
    canvas.line(tail, style.fur, 34)
    canvas.line(tail[-8:], style.stripes, 34)
    canvas.ellipse(cx, base - 130, 145, 135, style.fur)  # body
    for side in (-1, 1):  # flank stripes, curving over the haunches
        for i, half_width in enumerate((30, 38, 40)):
            x, y = cx + side * (100 - i * 4), base - 190 + i * 48
            box = (x - half_width, y - 18, x + half_width, y + 18)
            canvas.arc(box, 200, 340, style.stripes, 9)
    canvas.ellipse(cx, base - 130, 68, 100, style.chest)
    for side in (-1, 1):  # front paws with toes
        px = cx + side * 55
        canvas.ellipse(px, base - 14, 46, 24, style.chest)
        for dx in (-14, 0, 14):
            canvas.line([(px + dx, base - 16), (px + dx, base - 4)], dark, 3)

    for side in (-1, 1):  # ears, then the head over their base
        canvas.polygon(
            [(cx + side * 112, hy - 20), (cx + side * 96, hy - 150), (cx + side * 20, hy - 92)],
            style.fur,
        )
        canvas.polygon(
            [(cx + side * 96, hy - 40), (cx + side * 90, hy - 120), (cx + side * 45, hy - 86)], pink
        )
    canvas.ellipse(cx, hy, 122, 104, style.fur)
    for dx in (-22, 0, 22):  # tabby "M" on the forehead
        canvas.line([(cx + dx, hy - 98), (cx + dx * 0.8, hy - 62)], style.stripes, 8)
    for side in (-1, 1):  # cheek stripes
        canvas.line([(cx + side * 120, hy + 8), (cx + side * 92, hy + 12)], style.stripes, 7)
        canvas.line([(cx + side * 116, hy + 32), (cx + side * 90, hy + 30)], style.stripes, 7)

    canvas.ellipse(cx - 24, hy + 38, 30, 22, style.chest)  # muzzle
    canvas.ellipse(cx + 24, hy + 38, 30, 22, style.chest)
    for side in (-1, 1):
        ex = cx + side * 46
        canvas.ellipse(ex, hy - 8, 26, 28, dark)
        canvas.ellipse(ex, hy - 8, 23, 25, style.eyes)
        canvas.ellipse(ex, hy - 6, 7, 21, (15, 15, 15))
        canvas.ellipse(ex + 7, hy - 18, 5, 5, (255, 255, 255))
    canvas.polygon([(cx - 14, hy + 16), (cx + 14, hy + 16), (cx, hy + 30)], pink)
    canvas.line([(cx, hy + 30), (cx, hy + 40)], dark, 3)
    canvas.arc((cx - 24, hy + 26, cx, hy + 50), 0, 180, dark, 3)
    canvas.arc((cx, hy + 26, cx + 24, hy + 50), 0, 180, dark, 3)
    whisker = (240, 240, 240) if sum(style.fur) < 200 else (60, 50, 45)
    for side in (-1, 1):
        for i, dy in enumerate((-6, 4, 14)):
            canvas.line(
                [(cx + side * 40, hy + 34 + dy), (cx + side * 150, hy + 20 + dy * 2.6 + i * 2)],
                whisker,
                2,
            )

    if style.yarn is not None:  # a ball of yarn with a loose thread
        yx, yy = cx + 290, base - 45
        canvas.ellipse(yx + 10, base, 60, 12, (0, 0, 0, 50))
        canvas.ellipse(yx, yy, 50, 50, style.yarn)
        for squash in (0.25, 0.55, 0.85):  # the wound thread, as meridians
            box = (yx - 50 * squash, yy - 50, yx + 50 * squash, yy + 50)
            canvas.arc(box, 0, 360, shade(style.yarn, 0.7), 3)
        canvas.arc((yx - 50, yy - 22, yx + 50, yy + 22), 0, 180, shade(style.yarn, 0.7), 3)
        canvas.line(
            bezier(
                (yx - 30, yy + 38),
                (yx - 90, base + 20),
                (cx + 150, base - 10),
                (cx + 130, base + 10),
            ),
            style.yarn,
            4,
        )
    return canvas.finish()


# --- the dog (PNG) -----------------------------------------------------------------------------


def draw_dog() -> Image.Image:
    """A sitting beagle-ish dog with a collar and a ball, on grass under a blue sky."""
    rng = random.Random(10)
    background = gradient(
        [
            (0.0, (130, 190, 240)),
            (0.68, (215, 236, 250)),
            (0.68, (120, 180, 80)),
            (1.0, (80, 140, 55)),
        ]
    )
    canvas = Canvas(soft_texture(background, rng, 0.05))
    glow(canvas, 690, 90, 90, (255, 245, 200), 200)
    canvas.ellipse(690, 90, 45, 45, (255, 236, 150))
    for _ in range(60):  # tufts of grass
        gx, gy = rng.uniform(0, WIDTH), rng.uniform(420, 590)
        canvas.line(
            [(gx, gy), (gx + rng.uniform(-6, 6), gy - rng.uniform(8, 18))], (70, 125, 45), 3
        )

    cx, base = 380, 545
    brown, tan, white = (150, 86, 40), (214, 150, 86), (248, 244, 236)
    canvas.ellipse(cx + 10, base, 190, 24, (0, 0, 0, 60))
    tail = bezier(
        (cx - 120, base - 50), (cx - 210, base - 60), (cx - 230, base - 160), (cx - 200, base - 232)
    )
    canvas.line(tail, tan, 26)
    canvas.ellipse(cx - 200, base - 232, 12, 12, white)
    canvas.ellipse(cx, base - 125, 150, 125, tan)  # body
    canvas.ellipse(cx + 30, base - 160, 110, 70, brown)  # saddle patch
    for side in (-1, 1):  # haunches and legs
        canvas.ellipse(cx + side * 118, base - 52, 62, 52, tan)
        canvas.ellipse(cx + side * 150, base - 8, 38, 16, white)
    canvas.ellipse(cx, base - 120, 70, 95, white)  # chest
    for side in (-1, 1):
        lx = cx + side * 46
        leg = [
            (lx - 22, base - 150),
            (lx + 22, base - 150),
            (lx + 20, base - 14),
            (lx - 20, base - 14),
        ]
        canvas.polygon(leg, white)
        canvas.ellipse(lx, base - 12, 30, 16, white)
        canvas.line([(lx - 8, base - 14), (lx - 8, base - 4)], (180, 170, 160), 2)
        canvas.line([(lx + 8, base - 14), (lx + 8, base - 4)], (180, 170, 160), 2)

    hy = base - 340
    collar = [
        (cx - 86, base - 262),
        (cx + 86, base - 262),
        (cx + 80, base - 236),
        (cx - 80, base - 236),
    ]
    canvas.polygon(collar, (200, 40, 50))
    canvas.ellipse(cx, base - 222, 15, 15, (240, 200, 60))
    canvas.ellipse(cx, hy, 106, 96, tan)  # head
    canvas.ellipse(cx, hy - 40, 70, 50, brown)
    canvas.ellipse(cx, hy + 20, 26, 80, white)  # blaze
    for side in (-1, 1):  # floppy ears
        canvas.ellipse(cx + side * 108, hy + 20, 38, 86, shade(brown, 0.8), angle=side * -14)
    canvas.ellipse(cx, hy + 58, 62, 42, white)  # muzzle
    for side in (-1, 1):
        ex = cx + side * 42
        canvas.ellipse(ex, hy - 10, 16, 17, (40, 25, 15))
        canvas.ellipse(ex + 5, hy - 15, 5, 5, (255, 255, 255))
        canvas.ellipse(ex, hy - 38, 14, 6, shade(brown, 0.7))  # eyebrow
    canvas.ellipse(cx, hy + 34, 24, 16, (30, 25, 25))  # nose
    canvas.ellipse(cx - 7, hy + 29, 7, 4, (110, 100, 100))
    canvas.ellipse(cx, hy + 84, 16, 22, (230, 100, 120))  # tongue
    canvas.line([(cx, hy + 72), (cx, hy + 96)], (190, 70, 90), 2)
    canvas.line([(cx, hy + 50), (cx, hy + 62)], (40, 30, 30), 3)
    canvas.arc((cx - 34, hy + 44, cx, hy + 76), 10, 170, (40, 30, 30), 3)
    canvas.arc((cx, hy + 44, cx + 34, hy + 76), 10, 170, (40, 30, 30), 3)

    bx, by = cx + 270, base - 40  # a ball
    canvas.ellipse(bx + 8, base, 50, 10, (0, 0, 0, 50))
    canvas.ellipse(bx, by, 42, 42, (220, 50, 50))
    canvas.arc((bx - 42, by - 20, bx + 42, by + 20), 0, 180, (250, 250, 250), 8)
    canvas.ellipse(bx - 14, by - 18, 9, 6, (255, 170, 170))
    return canvas.finish()


# --- the sunset (WebP) -------------------------------------------------------------------------


def hill(
    canvas: Canvas, horizon: float, amplitudes: Sequence[float], phase: float, colour: RGB
) -> None:
    """A rolling silhouette: a few sine waves summed, filled down to the bottom edge."""
    points: list[Point] = [(0, HEIGHT)]
    for i in range(81):
        x = WIDTH * i / 80
        y = horizon - sum(
            a * math.sin(x / (140 + 90 * n) + phase * (n + 1)) for n, a in enumerate(amplitudes)
        )
        points.append((x, y))
    points.append((WIDTH, HEIGHT))
    canvas.polygon(points, colour)


def draw_sunset() -> Image.Image:
    """A sun setting behind layered hills, under an orange-to-violet sky with a few birds."""
    rng = random.Random(20)
    sky = gradient(
        [
            (0.0, (38, 30, 86)),
            (0.35, (140, 60, 120)),
            (0.6, (238, 118, 72)),
            (0.78, (255, 196, 100)),
            (1.0, (255, 210, 130)),
        ]
    )
    canvas = Canvas(soft_texture(sky, rng, 0.04))
    for _ in range(40):  # first stars
        sx, sy = rng.uniform(0, WIDTH), rng.uniform(0, 140)
        r = rng.uniform(0.8, 1.8)
        canvas.ellipse(sx, sy, r, r, (255, 250, 230, rng.randint(120, 230)))
    glow(canvas, 500, 380, 180, (255, 220, 140), 170)
    canvas.ellipse(500, 380, 72, 72, (255, 236, 170))
    for cx, cy, length in ((250, 250, 260), (560, 285, 200), (170, 320, 180)):  # thin clouds
        canvas.ellipse(cx, cy, length / 2, 7, (255, 170, 150, 150))
        canvas.ellipse(cx + 30, cy + 9, length / 3, 5, (200, 110, 140, 130))
    hill(canvas, 430, (22, 14, 8), 0.5, (150, 70, 110))
    hill(canvas, 480, (30, 18, 10), 2.0, (96, 42, 88))
    hill(canvas, 540, (36, 20, 12), 4.1, (48, 22, 56))
    for bx, by, size in ((260, 170, 14), (295, 190, 10), (330, 160, 12), (620, 120, 9)):
        canvas.arc((bx - size, by - size / 2, bx, by + size / 2), 200, 340, (40, 20, 40), 2.5)
        canvas.arc((bx, by - size / 2, bx + size, by + size / 2), 200, 340, (40, 20, 40), 2.5)
    return canvas.finish()


# --- the bird (GIF) ----------------------------------------------------------------------------


def draw_bird() -> Image.Image:
    """A bluebird perched on a leafy branch; flat colours suit the 256-colour GIF palette."""
    rng = random.Random(30)
    canvas = Canvas(gradient([(0.0, (110, 170, 230)), (1.0, (210, 236, 250))]))
    for cx, cy, n in ((160, 110, 5), (600, 170, 4), (420, 60, 3)):  # clouds
        for i in range(n):
            r = rng.uniform(26, 42)
            canvas.ellipse(
                cx + i * 34 - n * 17, cy + rng.uniform(-12, 8), r * 1.3, r, (250, 252, 255)
            )

    bark = (110, 72, 42)
    branch = bezier((-20, 470), (200, 430), (450, 450), (720, 400))
    canvas.line(branch, bark, 24)
    canvas.line(bezier((560, 425), (600, 380), (640, 360), (700, 330)), bark, 10)
    canvas.line(bezier((150, 455), (120, 400), (90, 380), (60, 370)), bark, 9)
    for lx, ly, angle in (
        (690, 320, -30),
        (720, 340, 20),
        (55, 360, 40),
        (90, 370, -40),
        (610, 380, -60),
        (300, 470, 70),
        (760, 390, 10),
    ):
        canvas.ellipse(lx, ly, 26, 11, (70, 150, 60), angle=angle)
        dx, dy = 20 * math.cos(math.radians(angle)), 20 * math.sin(math.radians(angle))
        canvas.line([(lx - dx, ly - dy), (lx + dx, ly + dy)], (50, 115, 45), 2)  # midrib

    cx, cy = 380, 350
    blue, dark_blue, breast = (60, 110, 200), (36, 64, 140), (238, 130, 60)
    tail = [(cx + 60, cy + 10), (cx + 190, cy + 70), (cx + 175, cy + 95), (cx + 50, cy + 40)]
    canvas.polygon(tail, dark_blue)
    for side in (-1, 1):  # legs
        lx = cx - 10 + side * 22
        canvas.line([(lx, cy + 50), (lx - 4, cy + 100)], (90, 70, 60), 4)
        canvas.line([(lx - 4, cy + 100), (lx - 18, cy + 106)], (90, 70, 60), 3)
    canvas.ellipse(cx, cy, 100, 66, blue, angle=-12)  # body
    canvas.ellipse(cx - 40, cy + 18, 62, 44, breast, angle=-20)
    canvas.ellipse(cx + 26, cy - 6, 76, 36, dark_blue, angle=-18)  # wing
    for i in range(3):
        canvas.arc(
            (cx - 10 + i * 22, cy - 30 + i * 4, cx + 70 + i * 22, cy + 20 + i * 4),
            20,
            120,
            (28, 48, 110),
            3,
        )
    hx, hy = cx - 88, cy - 62
    canvas.ellipse(hx, hy, 50, 46, blue)  # head
    canvas.polygon([(hx - 40, hy - 2), (hx - 82, hy + 10), (hx - 40, hy + 20)], (245, 190, 50))
    canvas.line([(hx - 78, hy + 10), (hx - 42, hy + 9)], (190, 130, 30), 2)
    canvas.ellipse(hx - 12, hy - 8, 10, 10, (20, 20, 30))
    canvas.ellipse(hx - 9, hy - 11, 3.5, 3.5, (255, 255, 255))
    return canvas.finish()


# --- writing the files -------------------------------------------------------------------------


def sample_exif(description: str, taken: str) -> bytes:
    """Fixed, GPS-free EXIF: who made the file, when it was "taken", and what it shows."""
    exif = Image.Exif()
    exif[Base.Make] = "imagerepo"
    exif[Base.Model] = "sample generator"
    exif[Base.Software] = "scripts/make_sample_images.py"
    exif[Base.ImageDescription] = description
    exif[Base.DateTime] = taken
    exif[Base.Orientation] = 1
    sub = exif.get_ifd(IFD.Exif)
    sub[Base.DateTimeOriginal] = taken
    sub[Base.DateTimeDigitized] = taken
    return exif.tobytes()


def save_jpeg(image: Image.Image, path: Path, description: str, taken: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(
        path, "JPEG", quality=JPEG_QUALITY, optimize=True, exif=sample_exif(description, taken)
    )


def main() -> None:
    """Write every sample file, then print each path with its size."""
    written: list[Path] = []

    cats = (
        (ORANGE_TABBY, "cat_1.jpg", "An orange tabby cat sitting", "2021:01:15 10:30:00"),
        (GREY_WITH_YARN, "cat_2.jpg", "A grey cat with a ball of yarn", "2021:03:02 16:45:10"),
        (BLACK_AT_DUSK, "nested/cat_3.jpg", "A black cat at dusk", "2021:06:21 21:05:42"),
    )
    for style, name, description, taken in cats:
        path = SAMPLES_DIR / name
        save_jpeg(draw_cat(style), path, description, taken)
        written.append(path)

    dog = SAMPLES_DIR / "dog_1.png"
    draw_dog().save(dog, "PNG", optimize=True)
    sunset = SAMPLES_DIR / "sunset.webp"
    draw_sunset().save(sunset, "WEBP", quality=WEBP_QUALITY, method=6)
    written += [dog, sunset]

    # Identical bytes on purpose: the server stores (and dedupes) by content hash.
    copied = SAMPLES2_DIR / "cat_copied.jpg"
    copied.parent.mkdir(parents=True, exist_ok=True)
    copied.write_bytes((SAMPLES_DIR / "cat_1.jpg").read_bytes())
    bird = SAMPLES2_DIR / "bird.gif"
    palette = draw_bird().quantize(GIF_COLOURS, Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    palette.save(bird, "GIF", optimize=True)
    written += [copied, bird]

    for path in written:
        print(f"{path.relative_to(REPO_ROOT)}  {path.stat().st_size / 1024:.1f} KiB")


if __name__ == "__main__":
    main()
