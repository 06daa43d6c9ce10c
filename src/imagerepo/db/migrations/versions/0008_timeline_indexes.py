"""timeline indexes: month counts by visibility, months by camera make

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 13:20:00.000000

- `image_month_counts (visibility, local_month, count)`: the anonymous (public) branch of the
  timeline read every owner's rows of the table and sorted them (2.5-4 ms at 17 000 rows, a
  million images); through this index it reads only the public rows, in month order.
- `images (visibility, lower(camera_make), local_month)`: a timeline filtered by camera make
  counted every visible row (3 s at a million); with this index it counts only that make's
  index entries. The other field filters (model, lens, sizes, dates) still count every visible
  row: see docs/benchmarks.md.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_image_month_counts_vis_month",
        "image_month_counts",
        ["visibility", "local_month", "count"],
    )
    op.create_index(
        "ix_images_vis_make_month",
        "images",
        ["visibility", sa.text("lower(camera_make)"), "local_month"],
    )


def downgrade() -> None:
    op.drop_index("ix_images_vis_make_month", table_name="images")
    op.drop_index("ix_image_month_counts_vis_month", table_name="image_month_counts")
