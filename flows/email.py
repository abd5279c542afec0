"""Digest email: multipart/alternative (the markdown as text, the HTML with its chart inline), over SMTP.

The message is built from the digest files as written, so a send retried on a later run sends
exactly what was built. The password comes only from ``SILKWATCH_SMTP_PASSWORD``.
"""

from __future__ import annotations

import base64
import os
import re
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from silkwatch.flows.config import EmailConfig
from silkwatch.warehouse.clock import utc_now
from silkwatch.warehouse.db import open_warehouse
from silkwatch.warehouse.load import record_send
from silkwatch.warehouse.queries import digest_record, digests_to_send

PASSWORD_ENV = "SILKWATCH_SMTP_PASSWORD"  # noqa: S105 - the name of the variable, not a password
SMTP_TIMEOUT = 30
_DATA_PNG = re.compile(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"')
_HEADER_UNSAFE = re.compile(r"[\r\n\x00]")


class EmailError(RuntimeError):
    """The digest could not be sent; the message says why (the digest files are kept)."""


def _header(value: str) -> str:
    """No CR/LF/NUL in a header value: nothing from a config or an article can add a header."""
    return _HEADER_UNSAFE.sub(" ", value).strip()


def text_message(subject: str, body: str, cfg: EmailConfig) -> EmailMessage:
    """A plain-text email to the [email] recipients (an alert)."""
    msg = EmailMessage()
    msg["Subject"] = _header(subject)
    msg["From"] = _header(cfg.sender)
    msg["To"] = ", ".join(_header(r) for r in cfg.recipients)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid("silkwatch", domain=_header(_domain(cfg)))
    msg.set_content(body)
    return msg


def _domain(cfg: EmailConfig) -> str:
    return cfg.sender.rsplit("@", 1)[-1] if "@" in cfg.sender else "silkwatch.local"


def build_message(md_path: Path, cfg: EmailConfig, subject: str) -> EmailMessage:
    """The email for a digest: text part from the markdown file, HTML part with its charts as cid images."""
    msg = text_message(subject, md_path.read_text("utf-8"), cfg)
    html = md_path.with_suffix(".html").read_text("utf-8")
    domain = _domain(cfg)
    charts = []  # (cid, png) of each inline chart, in order

    def inline(found: re.Match) -> str:
        cid = make_msgid("chart", domain=_header(domain))
        charts.append((cid, base64.b64decode(found.group(1))))
        return f'src="cid:{cid[1:-1]}"'

    html = _DATA_PNG.sub(inline, html)
    msg.add_alternative(html, subtype="html")
    html_part = msg.get_payload()[1]
    for number, (cid, png) in enumerate(charts, 1):
        name = "chart.png" if number == 1 else f"chart-{number}.png"
        html_part.add_related(png, maintype="image", subtype="png", cid=cid, filename=name)
    return msg


def send_message(msg: EmailMessage, cfg: EmailConfig) -> None:
    """Deliver over SMTP: implicit TLS when ``ssl``, else STARTTLS when ``starttls``; login when a password is set."""
    password = os.environ.get(PASSWORD_ENV)
    context = ssl.create_default_context()
    try:
        if cfg.ssl:
            server = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=SMTP_TIMEOUT, context=context)
        else:
            server = smtplib.SMTP(cfg.host, cfg.port, timeout=SMTP_TIMEOUT)
        with server:
            if cfg.starttls and not cfg.ssl:
                server.starttls(context=context)
            if password:
                server.login(cfg.username or cfg.sender, password)
            refused = server.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        raise EmailError(f"SMTP {cfg.host}:{cfg.port}: {type(exc).__name__}: {exc}") from exc
    if refused:
        raise EmailError(f"SMTP {cfg.host}:{cfg.port}: recipients refused: {', '.join(refused)}")


@dataclass
class SendOutcome:
    digest_id: str
    sent: bool  # a message went out now
    message_id: str | None
    reason: str  # sent / already sent / failed: ...


def _subject(record: dict) -> str:
    kind = {"day": "daily", "week": "weekly"}.get(record["kind"], record["kind"])
    n = len(record["article_ids"])
    return f"Silkwatch {kind} digest, {record['period_end']:%d %B %Y}: {n} new article{'s' if n != 1 else ''}"


def send_digest(db_path: Path, cfg: EmailConfig, digest_id: str, *, force: bool = False) -> SendOutcome:
    """Email one digest unless it was sent already (``force`` sends again); record the attempt."""
    with open_warehouse(db_path) as con:
        record = digest_record(con, digest_id)
    if record is None:
        raise EmailError(f"{digest_id}: no such digest; build it first with `silkwatch digest`")
    if record["status"] == "sent" and not force:
        return SendOutcome(
            digest_id, False, record["message_id"], f"already sent at {record['sent_at']:%Y-%m-%d %H:%M} UTC"
        )
    if not cfg.recipients:
        raise EmailError("[email] recipients is empty")
    try:
        msg = build_message(Path(record["path"]), cfg, _subject(record))
        send_message(msg, cfg)
    except (EmailError, OSError) as exc:
        with open_warehouse(db_path, wait_seconds=10) as con:
            record_send(con, digest_id, sent_at=None, message_id=None, error=str(exc))
        return SendOutcome(digest_id, False, None, f"failed: {exc}; will retry on the next run")
    with open_warehouse(db_path, wait_seconds=10) as con:
        record_send(con, digest_id, sent_at=utc_now(), message_id=msg["Message-ID"], error=None)
    return SendOutcome(digest_id, True, msg["Message-ID"], "sent")


def retry_failed_sends(db_path: Path, cfg: EmailConfig) -> list[SendOutcome]:
    """Send again every digest whose email failed before (its files are still there)."""
    with open_warehouse(db_path) as con:
        pending = digests_to_send(con)
    return [send_digest(db_path, cfg, d["digest_id"]) for d in pending if Path(d["path"]).exists()]
