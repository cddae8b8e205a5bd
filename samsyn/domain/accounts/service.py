"""Account use-cases: the user's own profile (the rest of the accounts flows come later)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from samsyn.api.compat.validation import Unique, validate
from samsyn.db.models import User
from samsyn.domain.accounts.schemas import PROFILE_FIELDS, USERNAME_TAKEN, ProfileOut, profile_out
from samsyn.errors import InvalidInput, NotFound


def _user(db: Session, user_id: int, *, lock: bool = False) -> User:
    stmt = select(User).where(User.id == user_id)
    user = db.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none()
    if user is None:
        raise NotFound
    return user


def get_profile(db: Session, user_id: int) -> ProfileOut:
    return profile_out(_user(db, user_id))


def update_profile(db: Session, user_id: int, read_data: Callable[[], Any], *,
                   partial: bool) -> ProfileOut:
    user = _user(db, user_id, lock=True)

    def taken(path: str, name: str, value: str) -> bool:
        return db.execute(select(User.id).where(User.username == value, User.id != user_id)
                          .limit(1)).first() is not None

    values = validate(PROFILE_FIELDS, read_data(), partial=partial, unique=Unique(taken))
    if values:
        try:
            with db.begin_nested():
                db.execute(update(User).where(User.id == user_id).values(**values))
        except IntegrityError:
            raise InvalidInput({"username": [USERNAME_TAKEN]}) from None
        db.refresh(user)
    return profile_out(user)
