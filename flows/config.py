"""``silkwatch.toml``: every key has a default; unknown keys and wrong types are errors naming the key.

Relative paths resolve against the config file's folder. Secrets never live here: the SMTP
password comes only from ``SILKWATCH_SMTP_PASSWORD``, and a notify URL may name environment
variables (``${SLACK_TOKEN}``) that are read only when alerts are sent (``flows/notify.py``).

Watches (``[[watch]]``) and ``[breaking]`` are checked here for shape, topics and entities; their
notify URLs are checked by ``flows.notify.check_notify`` (Apprise takes most of a second to load,
so commands that send nothing do not pay for it).
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_CONFIG_NAME = "silkwatch.toml"

# section -> key -> default (the default's type is the key's type; None means "string or absent")
SCHEMA: dict[str, dict[str, object]] = {
    "warehouse": {"path": "data/silkwatch.duckdb", "lock_wait_seconds": 0.0},
    "seeds": {"dir": "seeds"},
    "feeds": {"file": "seeds/feeds.toml"},
    "digest": {"dir": "reports", "period": "day", "max_per_topic": 20},
    "fetch": {
        "allow_private_networks": False,
        "allowed_private_addresses": [],  # addresses or CIDR networks allowed even so, e.g. a local feed server
        "user_agent": "",  # empty: silkwatch's own descriptive User-Agent
        "connect_timeout": 10.0,
        "read_timeout": 20.0,
        "total_timeout": 60.0,
        "max_bytes": 10 * 1024 * 1024,
        "max_redirects": 5,
        "retries": 2,
        "max_retry_after": 120.0,
        "max_concurrency": 8,
        "per_host_concurrency": 2,
        "per_host_delay": 0.5,
    },
    "email": {
        "enabled": False,
        "host": "smtp.example.org",
        "port": 587,
        "sender": "silkwatch@example.org",
        "recipients": ["analyst@example.org"],
        "starttls": True,
        "ssl": False,
        "username": "",
    },
    "pipeline": {
        "workers": 0,  # extraction processes: 0 = one per core, 1 = in-process (no pool)
        "task_runner": "threads",  # threads (Prefect's ThreadPoolTaskRunner) or dask (prefect-dask)
        "dask_address": "",  # empty: a temporary local cluster; else an existing scheduler's address
    },
    "schedule": {
        "timezone": "UTC",
        "ingest_every_minutes": 30,
        "daily_digest": "0 7 * * *",
        "weekly_digest": "0 7 * * 1",
    },
    "topics": {
        "file": "",  # empty: the built-in topics only; else a topics file of the team's own, layered on top
    },
    "breaking": {  # a story is breaking when, within `hours`, it reaches `outlets` outlets or `languages` languages
        "outlets": 5,
        "languages": 3,
        "hours": 24.0,
        "notify": [],  # Apprise URLs, or "email" for the [email] recipients; empty: no breaking alerts
    },
}
# [[watch]] entries: key -> default (name and query are required)
WATCH_KEYS: dict[str, object] = {
    "name": "", "query": "", "topics": [], "entities": [], "languages": [], "sources": [], "notify": [],
}  # fmt: skip
EMAIL_TARGET = "email"  # in a notify list: the [email] recipients, over flows/email.py
_WATCH_NAME = re.compile(r"[\w][\w .:@+-]{0,79}")
PERIODS = ("day", "week", "all")
TASK_RUNNERS = ("threads", "dask")


class ConfigError(ValueError):
    """The configuration cannot be used; the message names the file and the key."""


class FeedListError(ValueError):
    """The feed list file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class EmailConfig:
    enabled: bool
    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    starttls: bool
    ssl: bool
    username: str


@dataclass(frozen=True)
class WatchConfig:
    """A saved search that raises an alert: see docs/alerts-and-trends.md."""

    name: str
    query: str  # the search syntax: words (any spelling of a named entity), "quoted phrases"
    topics: tuple[str, ...] = ()  # filters: an article must have one of each list given
    entities: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()  # outlet names, matched as parts of the outlet's name
    notify: tuple[str, ...] = ()  # Apprise URLs, or "email"


@dataclass(frozen=True)
class BreakingConfig:
    outlets: int = 5
    languages: int = 3
    hours: float = 24.0
    notify: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    source: Path | None  # the file read, None for pure defaults
    warehouse_path: Path
    seeds_dir: Path
    feeds_file: Path
    digest_dir: Path
    digest_period: str
    email: EmailConfig = field(repr=False)
    fetch: dict = field(default_factory=dict, repr=False)  # [fetch] knobs, see flows.fetch.FetchPolicy
    schedule: dict = field(default_factory=dict, repr=False)  # [schedule], see deployments/serve.py
    digest_max_per_topic: int = 20  # articles shown per digest section; 0 shows all
    workers: int = 0  # page extraction processes: 0 = one per core, 1 = in-process (flows/pages.py)
    task_runner: str = "threads"  # see flows/runners.py
    dask_address: str = ""
    lock_wait_seconds: float = 0.0  # how long a writer waits for another's writer lock (warehouse/lock.py)
    topics_file: Path | None = None  # [topics] file: the team's own topics, layered on the built-in ones
    watches: tuple[WatchConfig, ...] = ()
    breaking: BreakingConfig = field(default_factory=BreakingConfig)

    def topic_rules(self):
        """The topic rules this config classifies with (``parsers.classify.topic_ruleset``)."""
        from parsers.classify import topic_ruleset

        return topic_ruleset(self.topics_file)


def _check_types(where: str, data: dict) -> None:
    for section, values in data.items():
        if section not in SCHEMA:
            raise ConfigError(f"{where}: unknown section [{section}] (known: {', '.join(SCHEMA)})")
        if not isinstance(values, dict):
            raise ConfigError(f"{where}: {section} must be a [section]")
        for key, value in values.items():
            if key not in SCHEMA[section]:
                known = ", ".join(SCHEMA[section])
                raise ConfigError(f"{where}: unknown key '{key}' in [{section}] (known: {known})")
            default = SCHEMA[section][key]
            expected = type(default)
            ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
            if expected is float:  # 10 is as good as 10.0
                ok = isinstance(value, int | float) and not isinstance(value, bool)
            if expected is list:
                ok = ok and all(isinstance(v, str) for v in value)
            if not ok:
                raise ConfigError(
                    f"{where}: [{section}] {key} must be {expected.__name__}, got {type(value).__name__} {value!r}"
                )


def config_from_dict(data: dict, base: Path, source: Path | None = None) -> Config:
    """Build a Config from parsed TOML; relative paths resolve against ``base``."""
    where = str(source) if source else "config"
    data = dict(data)
    watch_tables = data.pop("watch", [])
    _check_types(where, data)

    def get(section: str, key: str):
        return data.get(section, {}).get(key, SCHEMA[section][key])

    def path(section: str, key: str) -> Path:
        value = get(section, key)
        if not value.strip():
            raise ConfigError(f"{where}: [{section}] {key} must not be empty")
        return (base / Path(value).expanduser()).resolve()

    period = get("digest", "period")
    if period not in PERIODS:
        raise ConfigError(f"{where}: [digest] period must be one of {', '.join(PERIODS)}, got {period!r}")
    for value in get("fetch", "allowed_private_addresses"):
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            bad = f"{value!r} is not an address or network"
            raise ConfigError(f"{where}: [fetch] allowed_private_addresses: {bad}") from None
    if get("digest", "max_per_topic") < 0:
        raise ConfigError(f"{where}: [digest] max_per_topic must be 0 (show all) or more")
    runner = get("pipeline", "task_runner")
    if runner not in TASK_RUNNERS:
        raise ConfigError(f"{where}: [pipeline] task_runner must be one of {', '.join(TASK_RUNNERS)}, got {runner!r}")
    warehouse = Path(os.environ["SILKWATCH_DB"]).resolve() if os.environ.get("SILKWATCH_DB") else None
    topics_file = path("topics", "file") if get("topics", "file").strip() else None
    # the rules are compiled only when there is something to check against them (a fast `query`)
    wanted = topics_file or any(isinstance(t, dict) and t.get("topics") for t in watch_tables or [])
    topics = _topic_names(where, topics_file) if wanted else ()
    recipients = tuple(get("email", "recipients"))
    breaking = _breaking(where, {key: get("breaking", key) for key in SCHEMA["breaking"]}, recipients)
    return Config(
        source=source,
        warehouse_path=warehouse or path("warehouse", "path"),
        seeds_dir=path("seeds", "dir"),
        feeds_file=path("feeds", "file"),
        digest_dir=path("digest", "dir"),
        digest_period=period,
        fetch={key: get("fetch", key) for key in SCHEMA["fetch"]},
        schedule=_schedule(where, {key: get("schedule", key) for key in SCHEMA["schedule"]}),
        digest_max_per_topic=get("digest", "max_per_topic"),
        workers=_workers(where, get("pipeline", "workers")),
        task_runner=runner,
        dask_address=get("pipeline", "dask_address"),
        lock_wait_seconds=_non_negative(where, "warehouse", "lock_wait_seconds", get("warehouse", "lock_wait_seconds")),
        email=EmailConfig(
            enabled=get("email", "enabled"),
            host=get("email", "host"),
            port=get("email", "port"),
            sender=get("email", "sender"),
            recipients=tuple(get("email", "recipients")),
            starttls=get("email", "starttls"),
            ssl=get("email", "ssl"),
            username=get("email", "username"),
        ),
        topics_file=topics_file,
        watches=_watches(where, watch_tables, topics, recipients),
        breaking=breaking,
    )


def _topic_names(where: str, topics_file: Path | None) -> tuple[str, ...]:
    from parsers.classify import RulesError, topic_ruleset

    try:
        return topic_ruleset(topics_file).names
    except RulesError as exc:
        raise ConfigError(f"{where}: [topics] file: {exc}") from None


def _notify(where: str, owner: str, value: object, recipients: tuple[str, ...]) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f'{where}: {owner}: notify must be a list of Apprise URLs or "email"')
    if EMAIL_TARGET in value and not recipients:
        raise ConfigError(f'{where}: {owner}: notify has "email" but [email] recipients is empty')
    return tuple(v.strip() for v in value)


def _breaking(where: str, values: dict, recipients: tuple[str, ...]) -> BreakingConfig:
    for key in ("outlets", "languages"):
        if values[key] < 2:
            raise ConfigError(f"{where}: [breaking] {key} must be 2 or more, got {values[key]}")
    if values["hours"] <= 0:
        raise ConfigError(f"{where}: [breaking] hours must be more than 0, got {values['hours']}")
    notify = _notify(where, "[breaking]", values["notify"], recipients)
    return BreakingConfig(values["outlets"], values["languages"], float(values["hours"]), notify)


def _watches(where: str, tables: object, topics: tuple[str, ...], recipients: tuple[str, ...]) -> tuple:
    """The [[watch]] entries, each checked: an error names the watch (or its position) and the key."""
    if not isinstance(tables, list):
        raise ConfigError(f"{where}: watch must be [[watch]] tables")
    watches: list[WatchConfig] = []
    for number, table in enumerate(tables, 1):
        watch = _watch(where, number, table, topics, recipients)
        if any(w.name == watch.name for w in watches):
            raise ConfigError(f"{where}: [[watch]] {watch.name!r}: two watches have this name")
        watches.append(watch)
    return tuple(watches)


def _watch(where: str, number: int, table: object, topics: tuple[str, ...], recipients: tuple[str, ...]) -> WatchConfig:
    from parsers.entities import default_registry
    from parsers.watches import WatchQueryError, parse_watch_query

    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [[watch]] number {number} must be a table")
    name = table.get("name")
    if not isinstance(name, str) or not _WATCH_NAME.fullmatch(name.strip()):
        raise ConfigError(f"{where}: [[watch]] number {number}: name must be a short text (letters, digits, "
                          f"spaces, '.:@+-'), got {name!r}")  # fmt: skip
    name = name.strip()
    owner = f"[[watch]] {name!r}"
    _check_watch_keys(where, owner, table)
    query = table.get("query")
    if not isinstance(query, str):
        raise ConfigError(f"{where}: {owner}: query must be text (the search syntax), got {query!r}")
    try:
        parse_watch_query(query)
    except WatchQueryError as exc:
        raise ConfigError(f"{where}: {owner}: {exc}") from None
    for topic in table.get("topics", []):
        if topic not in topics:
            raise ConfigError(f"{where}: {owner}: unknown topic {topic!r} (topics: {', '.join(topics)})")
    for entity in table.get("entities", []):
        if entity not in default_registry().kinds:
            raise ConfigError(f"{where}: {owner}: unknown entity {entity!r} (an id from "
                              "parsers/rules/entities.toml, e.g. emomali-rahmon)")  # fmt: skip
    return WatchConfig(
        name=name, query=query.strip(), topics=tuple(table.get("topics", [])),
        entities=tuple(table.get("entities", [])), languages=tuple(table.get("languages", [])),
        sources=tuple(table.get("sources", [])), notify=_notify(where, owner, table.get("notify", []), recipients),
    )  # fmt: skip


def _check_watch_keys(where: str, owner: str, table: dict) -> None:
    for key, value in table.items():
        if key not in WATCH_KEYS:
            raise ConfigError(f"{where}: {owner}: unknown key '{key}' (known: {', '.join(WATCH_KEYS)})")
        if isinstance(WATCH_KEYS[key], list) and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            raise ConfigError(f"{where}: {owner}: {key} must be a list of text, got {value!r}")


def _non_negative(where: str, section: str, key: str, value: float) -> float:
    if value < 0:
        raise ConfigError(f"{where}: [{section}] {key} must be 0 or more, got {value!r}")
    return float(value)


def _schedule(where: str, schedule: dict) -> dict:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(schedule["timezone"])
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"{where}: [schedule] timezone {schedule['timezone']!r} is not a known time zone") from exc
    for key in ("daily_digest", "weekly_digest"):
        fields = schedule[key].split()  # a cron expression: ASCII, fields separated by spaces
        if len(fields) != 5:
            raise ConfigError(f"{where}: [schedule] {key} must be a 5-field cron expression, got {schedule[key]!r}")
    if schedule["ingest_every_minutes"] < 1:
        raise ConfigError(f"{where}: [schedule] ingest_every_minutes must be at least 1")
    return schedule


def _workers(where: str, workers: int) -> int:
    if workers < 0:
        raise ConfigError(f"{where}: [pipeline] workers must be 0 (one per core) or more, got {workers}")
    return workers


def resolve_config_path(explicit: Path | None) -> Path:
    """--config, else $SILKWATCH_CONFIG, else ./silkwatch.toml."""
    if explicit is not None:
        return explicit
    if os.environ.get("SILKWATCH_CONFIG"):
        return Path(os.environ["SILKWATCH_CONFIG"])
    return Path.cwd() / DEFAULT_CONFIG_NAME


def load_config(explicit: Path | None = None) -> Config:
    path = resolve_config_path(explicit)
    if not path.exists():
        raise ConfigError(
            f"{path}: config file not found (pass --config PATH, set SILKWATCH_CONFIG, "
            f"or create {DEFAULT_CONFIG_NAME}; README shows an example)"
        )
    if path.is_dir():
        raise ConfigError(f"{path}: is a directory, not a config file")
    try:
        data = tomllib.loads(path.read_text("utf-8-sig"))  # a BOM (Windows editors) is not an error
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    return config_from_dict(data, base=path.resolve().parent, source=path.resolve())
