"""``silkwatch.toml``: every key has a default; unknown keys and wrong types are errors naming the key.

Each [section] is a pydantic model (strict: a string is never read as a number); the first problem
found is one line naming the file, the section and the key (``_one_line``).

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
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

DEFAULT_CONFIG_NAME = "silkwatch.toml"

CRON_EXAMPLE = "0 7 * * *"
# a TOML list of strings (a tuple: the config is immutable)
ListOfText = Annotated[tuple[str, ...], Field(strict=False)]


class Section(BaseModel):
    """A [section] of silkwatch.toml: every key has a default; an unknown key or a wrong type is an error.
    Strict: a TOML string is never read as a number, nor 1 as true (10 is as good as 10.0)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class WarehouseSection(Section):
    path: str = "data/silkwatch.duckdb"
    lock_wait_seconds: Annotated[float, Field(ge=0)] = 0.0  # how long a writer waits for another's lock


class SeedsSection(Section):
    dir: str = "seeds"


class FeedsSection(Section):
    file: str = "seeds/feeds.toml"


class DigestSection(Section):
    dir: str = "reports"
    period: Literal["day", "week", "all"] = "day"
    max_per_topic: Annotated[int, Field(ge=0)] = 20  # articles shown per digest section; 0 shows all


class FetchSection(Section):
    """The fetcher's knobs (``flows.fetch.FetchPolicy``)."""

    allow_private_networks: bool = False
    allowed_private_addresses: ListOfText = ()  # addresses or CIDR networks allowed even so
    user_agent: str = ""  # empty: silkwatch's own descriptive User-Agent
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    total_timeout: float = 60.0
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    retries: int = 2
    max_retry_after: float = 120.0
    max_concurrency: int = 8
    per_host_concurrency: int = 2
    per_host_delay: float = 0.5

    @field_validator("allowed_private_addresses")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for address in value:
            try:
                ipaddress.ip_network(address, strict=False)
            except ValueError:
                raise ValueError(f"{address!r} is not an address or network") from None
        return value


class EmailSection(Section):
    enabled: bool = False
    host: str = "smtp.example.org"
    port: int = 587
    sender: str = "silkwatch@example.org"
    recipients: ListOfText = ("analyst@example.org",)
    starttls: bool = True
    ssl: bool = False
    username: str = ""


class PipelineSection(Section):
    workers: Annotated[int, Field(ge=0)] = 0  # extraction processes: 0 = one per core, 1 = in-process
    task_runner: Literal["threads", "dask"] = "threads"  # Prefect's ThreadPoolTaskRunner, or prefect-dask
    dask_address: str = ""  # empty: a temporary local cluster; else an existing scheduler's address


_FIVE_FIELDS = re.compile(r"\S+(?:\s+\S+){4}")  # minute hour day month weekday (cronsim also takes a 6th)


def _cron(value: str) -> str:
    """A cron expression as `silkwatch serve` and Prefect read it: five fields, each in its range."""
    from cronsim import CronSim, CronSimError

    if not _FIVE_FIELDS.fullmatch(value.strip()):
        raise ValueError(f"must be a 5-field cron expression such as {CRON_EXAMPLE!r}, got {value!r}")
    try:
        CronSim(value, datetime(2026, 1, 1))
    except CronSimError as exc:
        raise ValueError(f"{value!r} is not a cron expression ({exc})") from None
    return value


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not a known time zone") from None
    return value


class ScheduleSection(Section):
    """For `silkwatch serve` (deployments/serve.py); prefect.yaml has its own copy."""

    timezone: Annotated[str, AfterValidator(_zone)] = "UTC"
    ingest_every_minutes: Annotated[int, Field(ge=1)] = 30
    daily_digest: Annotated[str, AfterValidator(_cron)] = "0 7 * * *"
    weekly_digest: Annotated[str, AfterValidator(_cron)] = "0 7 * * 1"


class TopicsSection(Section):
    file: str = ""  # empty: the built-in topics only; else a topics file of the team's own, layered on top


class BreakingSection(Section):
    """A story is breaking when, within ``hours``, it reaches ``outlets`` outlets or ``languages`` languages."""

    outlets: Annotated[int, Field(ge=2)] = 5
    languages: Annotated[int, Field(ge=2)] = 3
    hours: Annotated[float, Field(gt=0)] = 24.0
    notify: ListOfText = ()  # Apprise URLs, or "email" for the [email] recipients; empty: none sent


class ConfigFile(Section):
    """The whole file; ``watch`` ([[watch]] tables) is checked by ``_watches``, which knows the topics."""

    warehouse: WarehouseSection = WarehouseSection()
    seeds: SeedsSection = SeedsSection()
    feeds: FeedsSection = FeedsSection()
    digest: DigestSection = DigestSection()
    fetch: FetchSection = FetchSection()
    email: EmailSection = EmailSection()
    pipeline: PipelineSection = PipelineSection()
    schedule: ScheduleSection = ScheduleSection()
    topics: TopicsSection = TopicsSection()
    breaking: BreakingSection = BreakingSection()


SECTIONS: dict[str, type[Section]] = {
    name: info.annotation for name, info in ConfigFile.model_fields.items()
}  # fmt: skip
# [[watch]] entries: key -> default (name and query are required)
WATCH_KEYS: dict[str, object] = {
    "name": "", "query": "", "topics": [], "entities": [], "languages": [], "sources": [], "notify": [],
}  # fmt: skip
EMAIL_TARGET = "email"  # in a notify list: the [email] recipients, over flows/email.py
_WATCH_NAME = re.compile(r"[\w][\w .:@+-]{0,79}")
PERIODS = ("day", "week", "all")


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
    topics: ListOfText = ()  # filters: an article must have one of each list given
    entities: ListOfText = ()
    languages: ListOfText = ()
    sources: ListOfText = ()  # outlet names, matched as parts of the outlet's name
    notify: ListOfText = ()  # Apprise URLs, or "email"


@dataclass(frozen=True)
class BreakingConfig:
    outlets: int = 5
    languages: int = 3
    hours: float = 24.0
    notify: ListOfText = ()


@dataclass(frozen=True)
class Config:
    source: Path | None  # the file read, None for pure defaults
    warehouse_path: Path
    seeds_dir: Path
    feeds_file: Path
    digest_dir: Path
    digest_period: str
    email: EmailConfig = field(repr=False)
    fetch: FetchSection = field(default_factory=FetchSection, repr=False)  # see flows.fetch.FetchPolicy
    schedule: ScheduleSection = field(default_factory=ScheduleSection, repr=False)  # see deployments/serve.py
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
        from silkwatch.parsers.classify import topic_ruleset

        return topic_ruleset(self.topics_file)


_TYPE_NAMES = {"int_type": "int", "bool_type": "bool", "string_type": "str", "float_type": "float",
               "tuple_type": "list", "list_type": "list"}  # fmt: skip


def _one_line(where: str, exc: ValidationError) -> str:
    """The first problem pydantic found, as one line naming the file, the section and the key."""
    error = exc.errors()[0]
    loc = [str(part) for part in error["loc"]]
    section = loc[0]
    if error["type"] == "extra_forbidden":
        if len(loc) == 1:
            return f"{where}: unknown section [{section}] (known: {', '.join(SECTIONS)})"
        return f"{where}: unknown key '{loc[1]}' in [{section}] (known: {', '.join(SECTIONS[section].model_fields)})"
    if len(loc) == 1:
        return f"{where}: {section} must be a [section]"
    field_info = SECTIONS[section].model_fields[loc[1]]
    return f"{where}: [{section}] {loc[1]}{_wrong_value(error, field_info, in_list=len(loc) > 2)}"


def _wrong_value(error: dict, field_info, in_list: bool) -> str:
    """What is wrong with a key's value, to follow its name."""
    kind, value, ctx = error["type"], error.get("input"), error.get("ctx", {})
    messages = {
        "literal_error": lambda: (
            f" must be one of {', '.join(map(str, get_args(field_info.annotation)))}, got {value!r}"
        ),
        "greater_than_equal": lambda: f" must be {ctx['ge']:g} or more, got {value!r}",
        "greater_than": lambda: f" must be more than {ctx['gt']:g}, got {value!r}",
        "value_error": lambda: (" " if str(ctx["error"]).startswith("must") else ": ") + str(ctx["error"]),
    }
    if kind in messages:
        return messages[kind]()
    if kind.endswith("_type"):
        expected = "list of str" if in_list else _TYPE_NAMES.get(kind, kind.removesuffix("_type"))
        return f" must be {expected}, got {type(value).__name__} {value!r}"
    return f": {error['msg']}"


def config_from_dict(data: dict, base: Path, source: Path | None = None) -> Config:
    """Build a Config from parsed TOML; relative paths resolve against ``base``."""
    where = str(source) if source else "config"
    data = dict(data)
    watch_tables = data.pop("watch", [])
    try:
        file = ConfigFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_one_line(where, exc)) from None

    def path(section: str, key: str) -> Path:
        value = getattr(getattr(file, section), key)
        if not value.strip():
            raise ConfigError(f"{where}: [{section}] {key} must not be empty")
        return (base / Path(value).expanduser()).resolve()

    warehouse = Path(os.environ["SILKWATCH_DB"]).resolve() if os.environ.get("SILKWATCH_DB") else None
    topics_file = path("topics", "file") if file.topics.file.strip() else None
    # the rules are compiled only when there is something to check against them (a fast `query`)
    wanted = topics_file or any(isinstance(t, dict) and t.get("topics") for t in watch_tables or [])
    topics = _topic_names(where, topics_file) if wanted else ()
    recipients = file.email.recipients
    breaking = file.breaking
    return Config(
        source=source,
        warehouse_path=warehouse or path("warehouse", "path"),
        seeds_dir=path("seeds", "dir"),
        feeds_file=path("feeds", "file"),
        digest_dir=path("digest", "dir"),
        digest_period=file.digest.period,
        fetch=file.fetch,
        schedule=file.schedule,
        digest_max_per_topic=file.digest.max_per_topic,
        workers=file.pipeline.workers,
        task_runner=file.pipeline.task_runner,
        dask_address=file.pipeline.dask_address,
        lock_wait_seconds=file.warehouse.lock_wait_seconds,
        email=EmailConfig(**file.email.model_dump()),
        topics_file=topics_file,
        watches=_watches(where, watch_tables, topics, recipients),
        breaking=BreakingConfig(breaking.outlets, breaking.languages, breaking.hours,
                                _notify(where, "[breaking]", list(breaking.notify), recipients)),
    )  # fmt: skip


def _topic_names(where: str, topics_file: Path | None) -> tuple[str, ...]:
    from silkwatch.parsers.classify import RulesError, topic_ruleset

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
    from silkwatch.parsers.entities import default_registry
    from silkwatch.parsers.watches import WatchQueryError, parse_watch_query

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
