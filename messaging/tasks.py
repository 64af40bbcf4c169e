"""Huey tasks of messaging. Messages carry a source label only; the Delivery rows are the truth."""

from huey.contrib.djhuey import db_task

from messaging.sending import send_due


@db_task()
def send_messages(source: str) -> int:
    return send_due(source=source or None)
