"""Sending an alert to one notify target: an Apprise URL (Slack, Telegram, Matrix, Teams, ntfy, a
JSON webhook ``json://host:port/path``, ...) or ``"email"``, the ``[email]`` recipients over
``flows.email``.

A URL may name environment variables, ``tgram://${TELEGRAM_TOKEN}/12345``, so tokens need not sit in
the config file; they are read when the URL is checked or used. Apprise is imported only here: it
takes most of a second to load its plugins.
"""

from __future__ import annotations

import os
import re

from silkwatch.flows.config import EMAIL_TARGET, Config, ConfigError, EmailConfig

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class NotifyError(RuntimeError):
    """A message could not be delivered; the message says why (it is retried on the next run)."""


def expand(target: str) -> str:
    """The URL with its ``${NAME}`` variables read from the environment (unset: ConfigError)."""

    def value(found: re.Match) -> str:
        name = found.group(1)
        if name not in os.environ:
            raise ConfigError(f"notify URL names ${{{name}}}, which is not set in the environment")
        return os.environ[name]

    return _VARIABLE.sub(value, target)


def _apprise():
    import warnings

    with warnings.catch_warnings():  # its e-mail plugin imports the stdlib's deprecated imghdr
        warnings.simplefilter("ignore", DeprecationWarning)
        import apprise

        apprise.Apprise.instantiate("json://localhost")  # loads the plugins, under the same filter
    return apprise


def _service(target: str):
    """The Apprise service for a URL, or None when Apprise does not accept it."""
    apprise = _apprise()
    return apprise.Apprise.instantiate(expand(target), asset=apprise.AppriseAsset(storage_mode="memory"))


def check_notify(config: Config) -> None:
    """Every notify entry of every watch and of [breaking] is "email" or a URL Apprise accepts;
    otherwise a ConfigError naming the watch. Checked before anything is sent."""
    where = str(config.source) if config.source else "config"
    owners = [(f"[[watch]] {w.name!r}", w.notify) for w in config.watches]
    owners.append(("[breaking]", config.breaking.notify))
    for owner, targets in owners:
        for target in targets:
            if target == EMAIL_TARGET:
                continue
            try:
                service = _service(target)
            except ConfigError as exc:
                raise ConfigError(f"{where}: {owner}: {exc}") from None
            if service is None:
                raise ConfigError(
                    f"{where}: {owner}: notify {shown(target)!r} is not a URL Apprise can send to "
                    '(e.g. json://host:port/path, slack://..., tgram://..., ntfys://...; or "email")'
                )


def shown(target: str) -> str:
    """A notify entry as it may be shown: "email", or the URL with its secrets masked as Apprise
    masks them and without its query (Apprise's own settings); ``${NAME}`` variables as written."""
    if target == EMAIL_TARGET or _VARIABLE.search(target):
        return target
    service = _apprise().Apprise.instantiate(target)
    if service is None:
        return re.sub(r"(?<=://).*", "…", target)  # not a URL Apprise knows: its scheme only
    return service.url(privacy=True).split("?", 1)[0]


def send(target: str, title: str, body: str, email: EmailConfig) -> None:
    """Deliver one message to one target; NotifyError says why it failed."""
    if target == EMAIL_TARGET:
        from silkwatch.flows.email import EmailError, send_message, text_message

        try:
            send_message(text_message(title, body, email), email)
        except EmailError as exc:
            raise NotifyError(str(exc)) from exc
        return
    apprise = _apprise()
    service = _service(target)
    if service is None:
        raise NotifyError(f"{shown(target)}: not a URL Apprise can send to")
    with apprise.LogCapture(level=apprise.logging.WARNING) as logs:
        ok = service.notify(body=body, title=title, body_format=apprise.NotifyFormat.TEXT)
    if not ok:
        said = " ".join(line.split(" - ", 2)[-1].strip() for line in logs.getvalue().splitlines() if line.strip())
        raise NotifyError(f"{shown(target)}: {said or 'not delivered'}")
