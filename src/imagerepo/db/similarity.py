"""Splitting a 64-bit perceptual hash into indexable bands, and the probes for a radius.

Pigeonhole: if two hashes differ in at most d bits, then in one of the three bands they differ in
at most d // 3 bits. So probing every value within radius d // 3 of each band finds all hashes
within distance d; the caller then checks the exact distance.
"""

from __future__ import annotations

from itertools import combinations

BAND_WIDTHS = (22, 21, 21)


def phash_bands(phash: int) -> tuple[int, int, int]:
    unsigned = phash & ((1 << 64) - 1)
    return (unsigned >> 42, (unsigned >> 21) & ((1 << 21) - 1), unsigned & ((1 << 21) - 1))


def band_neighbourhood(value: int, width: int, radius: int) -> list[int]:
    """Every `width`-bit value within Hamming distance `radius` of `value`."""
    found = [value]
    for flips in range(1, radius + 1):
        for bits in combinations(range(width), flips):
            mask = 0
            for bit in bits:
                mask |= 1 << bit
            found.append(value ^ mask)
    return found
