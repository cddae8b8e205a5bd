"""SQLAlchemy 2 + GeoAlchemy2 models of the tables samsyn shares with the legacy Django app.

Names, types and lengths follow contract/legacy-schema.sql; the migrations create them.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from geoalchemy2 import Geometry as GeometryType
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    """Declarative base; the schema itself is owned by the Alembic migrations."""


class Source(Base):
    __tablename__ = "core_source"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    sid: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    description: Mapped[str] = mapped_column(String(255))
    source_type: Mapped[str] = mapped_column(String(50))
    attributes: Mapped[Any] = mapped_column(JSONB)


class Geometry(Base):
    __tablename__ = "core_geometry"
    gid: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    geom: Mapped[Any] = mapped_column(GeometryType(srid=4326, spatial_index=False))
    metadata_: Mapped[Any] = mapped_column("metadata", JSONB)
    geometry_type: Mapped[str] = mapped_column(String(50))
    source_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("core_source.id"))


class Layer(Base):
    __tablename__ = "core_layer"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    lid: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    style: Mapped[Any] = mapped_column(JSONB)
    source_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("core_source.id"))
    attributes: Mapped[Any] = mapped_column(JSONB)
    source: Mapped[Source] = relationship(lazy="joined", innerjoin=True)


class Project(Base):
    __tablename__ = "core_project"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    pid: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    description: Mapped[str] = mapped_column(String(255))
    project_type: Mapped[str] = mapped_column(String(50))


class ProjectLayer(Base):
    __tablename__ = "core_project_layers"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    project_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("core_project.id"))
    layer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("core_layer.id"))


class User(Base):
    __tablename__ = "auth_user"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    password: Mapped[str] = mapped_column(String(128))
    last_login: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    is_superuser: Mapped[bool] = mapped_column(Boolean)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    first_name: Mapped[str] = mapped_column(String(150))
    last_name: Mapped[str] = mapped_column(String(150))
    email: Mapped[str] = mapped_column(String(254))
    is_staff: Mapped[bool] = mapped_column(Boolean)
    is_active: Mapped[bool] = mapped_column(Boolean)
    date_joined: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class AuthToken(Base):
    __tablename__ = "authtoken_token"
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    created: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("auth_user.id"), unique=True)


class EmailAddress(Base):
    __tablename__ = "account_emailaddress"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    verified: Mapped[bool] = mapped_column(Boolean)
    primary: Mapped[bool] = mapped_column(Boolean)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("auth_user.id"))


class Job(Base):
    """samsyn's own: one import/maintenance job (status, progress, result), idempotent by key."""

    __tablename__ = "samsyn_job"
    __table_args__ = (
        UniqueConstraint("idempotency_key", name="samsyn_job_idempotency_key_key"),
        CheckConstraint("status IN ('accepted', 'running', 'successful', 'failed')",
                        name="samsyn_job_status_check"),
        Index("samsyn_job_status_created_idx", "status", "created"),
    )
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default=text("'accepted'"))
    args: Mapped[Any] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    progress: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    total: Mapped[int | None] = mapped_column(BigInteger)
    result: Mapped[Any | None] = mapped_column(JSONB)
    error: Mapped[str | None] = mapped_column(Text)
    created: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=text("now()"))
    started: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    idempotency_key: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str | None] = mapped_column(Text)      # hostname:pid of the last attempt
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    updated: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=text("now()"))


class TokenDenylist(Base):
    """samsyn's own: JWTs revoked by logout or a password change (the legacy never revoked)."""

    __tablename__ = "samsyn_token_denylist"
    __table_args__ = (Index("samsyn_token_denylist_expires_idx", "expires"),)
    jti: Mapped[str] = mapped_column(Text, primary_key=True)
    expires: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class MailOutbox(Base):
    """samsyn's own: mail written in the same transaction as its cause, delivered by a job."""

    __tablename__ = "samsyn_mail_outbox"
    __table_args__ = (Index("samsyn_mail_outbox_due_idx", "next_attempt_at", "id",
                            postgresql_where=text("sent_at IS NULL AND dead_at IS NULL")),)
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    created: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=text("now()"))
    sender: Mapped[str] = mapped_column(Text)
    recipients: Mapped[Any] = mapped_column(JSONB)
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(Text, server_default=text("'text/plain'"))
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True),
                                                         server_default=text("now()"))
    dead_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class UserTokenEpoch(Base):
    """samsyn's own: no JWT of the user issued before `valid_after` is valid (password change
    or reset)."""

    __tablename__ = "samsyn_user_token_epoch"
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("auth_user.id", ondelete="CASCADE"),
                                         primary_key=True)
    valid_after: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Throttle(Base):
    """samsyn's own: the login and password-reset throttles' counters, one row per scope, key
    (client address or account) and fixed window, shared by every API process. UNLOGGED: a
    counter is worth no WAL, and losing them in a crash only reopens the current windows."""

    __tablename__ = "samsyn_throttle"
    __table_args__ = (Index("samsyn_throttle_window_end_idx", "window_end"),
                      {"prefixes": ["UNLOGGED"]})
    scope: Mapped[str] = mapped_column(Text, primary_key=True)
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    window_end: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)
