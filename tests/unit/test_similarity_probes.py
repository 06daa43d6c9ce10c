"""The per-band probe radii find every hash within the distance asked (`db.similarity`)."""

from __future__ import annotations

import random

import pytest

from imagerepo.db.similarity import BAND_WIDTHS, band_neighbourhood, phash_bands, probe_radii


@pytest.mark.parametrize("distance", range(13))
def test_every_hash_within_the_distance_shares_a_probed_band_value(distance: int) -> None:
    rng = random.Random(distance)
    radii = probe_radii(distance)
    assert sum(radii) >= distance - 2
    for _ in range(300):
        base = rng.getrandbits(64)
        other = base
        for bit in rng.sample(range(64), distance):
            other ^= 1 << bit
        probes = [
            set(band_neighbourhood(value, width, radius))
            for value, width, radius in zip(phash_bands(base), BAND_WIDTHS, radii, strict=True)
        ]
        assert any(b in p for b, p in zip(phash_bands(other), probes, strict=True))


def test_distance_twelve_binds_half_the_parameters_it_used_to() -> None:
    probes = sum(
        len(band_neighbourhood(0, w, r)) for w, r in zip(BAND_WIDTHS, probe_radii(12), strict=True)
    )
    assert probes == 12_233  # was 24 203 with radius 12 // 3 in every band
