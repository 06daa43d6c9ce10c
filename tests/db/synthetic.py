"""Synthetic image rows for search tests and plans (written through the repository)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from imagerepo.models import Image, PhotoMetadata, Visibility


def synthetic(
    n: int,
    owner_id: str,
    owner: str,
    *,
    start: datetime = datetime(2025, 1, 1, tzinfo=UTC),
    private_every: int = 5,
    title: str = "photo {i}",
    description: str = "",
    prefix: str = "",
) -> list[Image]:
    images = []
    for i in range(n):
        created = start + timedelta(minutes=i)
        taken = start - timedelta(days=i % 40) if i % 3 else None
        images.append(
            Image(
                id=f"{prefix}{owner_id}{i:06d}",
                owner_id=owner_id,
                owner=owner,
                title=title.format(i=i),
                filename=f"img_{i}.jpg",
                description=description.format(i=i),
                visibility=Visibility.PRIVATE if i % private_every == 0 else Visibility.PUBLIC,
                sha256=f"{owner_id}{i:064d}"[-64:],
                size=1000 + (i * 7919) % 5000,
                media_type="image/jpeg",
                width=640,
                height=480,
                created_at=created,
                taken_at=taken,
                metadata=PhotoMetadata(
                    taken_at=taken, camera_make="Canon" if i % 2 else "Nikon", lens="50mm"
                ),
                phash=(i * 0x9E3779B97F4A7C15) % (1 << 64) - (1 << 63),
                tags=("sea", "red car") if i % 4 == 0 else (),
            )
        )
    return images
