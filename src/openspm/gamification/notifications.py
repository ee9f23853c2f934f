"""In-app notifications: news for a user (a badge earned, a contest standing changed, a contest's results).

- `notify_user(session, user_id, kind, key, title, ...)` adds one notification; a `key` already sent to that
  user is a no-op, so awarding or refreshing twice never notifies twice.
- `notify_payee(...)` sends to every active user linked to a payee (a rep's or manager's sign-in).
- `notifications_of(engine, user_id)`, `unread_count`, `mark_read` (one, or all) are what the bell and the
  notifications page use.

Input: users and payees in the store. Output: rows of `notifications`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from openspm.core.dates import utc_now
from openspm.core.errors import NotFound
from openspm.store import models as m

KINDS = ("badge", "contest_standing", "contest_result", "contest_new")


@dataclass(frozen=True)
class NotificationView:
    id: int
    kind: str
    title: str
    body: str
    link: str | None
    created_at: datetime
    read: bool


def notify_user(
    session: Session, user_id: int, kind: str, key: str, title: str, body: str = "", link: str | None = None
) -> bool:
    """Add a notification unless `key` was already sent to this user; True when one was added."""
    found = session.scalar(
        select(m.Notification.id).where(m.Notification.user_id == user_id, m.Notification.key == key[:200])
    )
    if found is not None:
        return False
    session.add(m.Notification(user_id=user_id, kind=kind, key=key[:200], title=title[:300], body=body, link=link))
    session.flush()
    return True


def users_of_payee(session: Session, payee_id: int) -> list[int]:
    """The active users signed in as this payee."""
    return list(
        session.scalars(
            select(m.User.id).where(m.User.payee_id == payee_id, m.User.active.is_(True)).order_by(m.User.id)
        )
    )


def notify_payee(
    session: Session, payee_id: int, kind: str, key: str, title: str, body: str = "", link: str | None = None
) -> int:
    """Notify every active user of a payee; the number of notifications added."""
    return sum(notify_user(session, u, kind, key, title, body, link) for u in users_of_payee(session, payee_id))


def notifications_of(
    engine: Engine, user_id: int, unread_only: bool = False, limit: int = 100
) -> list[NotificationView]:
    """A user's notifications, newest first."""
    n = m.Notification
    query = select(n).where(n.user_id == user_id)
    if unread_only:
        query = query.where(n.read_at.is_(None))
    with Session(engine) as session:
        rows = session.scalars(query.order_by(n.created_at.desc(), n.id.desc()).limit(limit)).all()
        return [
            NotificationView(r.id, r.kind, r.title, r.body, r.link, r.created_at, r.read_at is not None) for r in rows
        ]


def unread_count(engine: Engine, user_id: int) -> int:
    n = m.Notification
    with Session(engine) as session:
        return int(
            session.scalar(select(func.count()).select_from(n).where(n.user_id == user_id, n.read_at.is_(None))) or 0
        )


def mark_read(engine: Engine, user_id: int, notification_id: int | None = None) -> int:
    """Mark one notification (or, with None, all) of the user read; how many changed. Another user's
    notification is NotFound."""
    n = m.Notification
    with Session(engine) as session, session.begin():
        query = update(n).where(n.user_id == user_id, n.read_at.is_(None))
        if notification_id is not None:
            owner = session.scalar(select(n.user_id).where(n.id == notification_id))
            if owner != user_id:
                raise NotFound(f"unknown notification {notification_id}")
            query = query.where(n.id == notification_id)
        result = session.execute(query.values(read_at=utc_now()))
        return int(getattr(result, "rowcount", 0) or 0)
