"""Table definitions. Portable SQL only: the same models run on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Stable constraint names so Alembic migrations read the same on every backend.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The name with case and separators ignored ("r.oot" -> "root"): unique, so no two server
    # processes can create look-alikes at once. NULL only for look-alikes made before the rule.
    username_skeleton: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    # Bumped when the password changes: tokens carry the version they were issued under.
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class SessionRow(Base):
    """A signed-in browser (the gallery's cookie login); see migration 0004."""

    __tablename__ = "sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class ImageRow(Base):
    __tablename__ = "images"
    __table_args__ = (
        CheckConstraint("visibility IN ('public', 'private')", name="visibility"),
        # One copy per owner and content: the dedupe rule, enforced by the database itself.
        UniqueConstraint("owner_id", "sha256"),
        # Keyset pagination for every sort, walked once per visibility branch (see
        # db/search/listing.py): "public rows in order" and "this owner's rows in order", so
        # no page ever sorts all visible rows. upload_key breaks ties and is unique.
        UniqueConstraint("upload_key"),
        Index("ix_images_vis_upload", "visibility", "upload_key"),
        Index("ix_images_owner_vis_upload", "owner_id", "visibility", "upload_key"),
        Index("ix_images_vis_taken", "visibility", "sort_taken_at", "upload_key"),
        Index("ix_images_owner_vis_taken", "owner_id", "visibility", "sort_taken_at", "upload_key"),
        Index("ix_images_vis_size", "visibility", "size", "upload_key"),
        Index("ix_images_owner_vis_size", "owner_id", "visibility", "size", "upload_key"),
        # Timeline buckets: counted from the index alone.
        Index("ix_images_vis_month", "visibility", "local_month"),
        # A timeline filtered by camera make counts only that make's entries (migration 0008).
        Index("ix_images_vis_make_month", "visibility", text("lower(camera_make)"), "local_month"),
        Index("ix_images_owner_vis_month", "owner_id", "visibility", "local_month"),
        Index("ix_images_sha256", "sha256"),
        Index("ix_images_taken_at", "taken_at"),
        # Near-duplicate lookup: a 64-bit hash in three bands (22+21+21 bits). Two hashes within
        # Hamming distance 8 agree to within 2 bits in at least one band, so probing each band's
        # radius-2 neighbourhood through these indexes finds every candidate.
        Index("ix_images_phash_band0", "phash_band0"),
        Index("ix_images_phash_band1", "phash_band1"),
        Index("ix_images_phash_band2", "phash_band2"),
        # Images whose derivative work is not done (migration 0009): a handful of rows.
        Index(
            "ix_images_unready",
            "state",
            "state_changed_at",
            sqlite_where=text("state <> 'ready'"),
            postgresql_where=text("state <> 'ready'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(255))
    filename: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    visibility: Mapped[str] = mapped_column(String(16))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Photo metadata: filterable fields as columns, everything read as JSON.
    taken_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    camera_make: Mapped[str | None] = mapped_column(String(255), nullable=True)
    camera_model: Mapped[str | None] = mapped_column(String(255), nullable=True)
    gps_latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    gps_longitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    photo_metadata: Mapped[dict[str, object]] = mapped_column(
        JSON, default=dict, server_default=text("'{}'")
    )
    phash: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    phash_band0: Mapped[int | None] = mapped_column(Integer, nullable=True)
    phash_band1: Mapped[int | None] = mapped_column(Integer, nullable=True)
    phash_band2: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Listing and search (migration 0005). upload_key orders by upload time with a tie-break
    # derived from the id (`db.keys.upload_key`); sort_taken_at is taken_at, or created_at for
    # undated photos; local_month is "YYYY-MM" of the camera's wall clock (else of
    # sort_taken_at); search_text is title and description folded for `keywords=`.
    upload_key: Mapped[int] = mapped_column(BigInteger)
    sort_taken_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    local_month: Mapped[str] = mapped_column(String(7))
    lens: Mapped[str | None] = mapped_column(String(255), nullable=True)
    search_text: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    # Derivative work (migration 0009, `services.processing`).
    state: Mapped[str] = mapped_column(String(16), default="ready", server_default="ready")
    state_changed_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    state_reason: Mapped[str | None] = mapped_column(String(255), nullable=True)


class ImageTagRow(Base):
    """One tag of one image, for `tag=` filters; `images.tags` keeps them as written."""

    __tablename__ = "image_tags"
    __table_args__ = (Index("ix_image_tags_tag_key_image_id", "tag_key", "image_id"),)

    image_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("images.id", ondelete="CASCADE"), primary_key=True
    )
    tag_key: Mapped[str] = mapped_column(String(100), primary_key=True)  # folded


class ImageMonthCountRow(Base):
    """How many images each owner has per visibility and local month: the timeline without
    text or field filters reads this instead of counting rows. On SQLite, triggers on `images`
    keep it in step in the same transaction (migration 0006)."""

    __tablename__ = "image_month_counts"
    # The public branch reads only public rows, in month order (migration 0008).
    __table_args__ = (
        Index("ix_image_month_counts_vis_month", "visibility", "local_month", "count"),
    )

    owner_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    visibility: Mapped[str] = mapped_column(String(16), primary_key=True)
    local_month: Mapped[str] = mapped_column(String(7), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


# --- Blob references (issue 10, migration 0007_blobs; protocol in services/blob_refs.py) ---


class BlobRow(Base):
    """One stored original. 'deleting' while a collector removes its bytes: uploads wait."""

    __tablename__ = "blobs"
    __table_args__ = (
        CheckConstraint("state IN ('live', 'deleting')", name="state"),
        Index("ix_blobs_state_last_claimed_at", "state", "last_claimed_at"),
    )

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # When a collector marked it 'deleting': a mark this old was left by a crashed collector.
    marked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class BlobClaimRow(Base):
    """An upload in flight, written before its bytes; protects them until it expires."""

    __tablename__ = "blob_claims"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class DirectUploadRow(Base):
    """A presigned PUT offered to `owner_id` (services/direct_upload.py); `image_id` once
    confirmed, so a second confirm answers the same image."""

    __tablename__ = "direct_uploads"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, object]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    image_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
