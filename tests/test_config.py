"""Config: defaults for every key, relative paths, env overrides, clear errors naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from silkwatch.flows.config import ConfigError, load_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "silkwatch.toml"
    path.write_text(text, "utf-8")
    return path


def test_empty_config_uses_defaults_relative_to_the_file(tmp_path, monkeypatch):
    monkeypatch.delenv("SILKWATCH_DB", raising=False)
    cfg = load_config(write(tmp_path, ""))
    assert cfg.warehouse_path == tmp_path / "data" / "silkwatch.duckdb"
    assert cfg.seeds_dir == tmp_path / "seeds"
    assert cfg.digest_dir == tmp_path / "reports"
    assert cfg.digest_period == "day"
    assert cfg.fetch.allow_private_networks is False
    assert cfg.email.enabled is False


def test_silkwatch_db_overrides_the_path(tmp_path, monkeypatch):
    monkeypatch.setenv("SILKWATCH_DB", str(tmp_path / "other.duckdb"))
    cfg = load_config(write(tmp_path, '[warehouse]\npath = "x.duckdb"\n'))
    assert cfg.warehouse_path == tmp_path / "other.duckdb"


def test_silkwatch_config_env_is_used(tmp_path, monkeypatch):
    path = write(tmp_path, '[digest]\nperiod = "week"\n')
    monkeypatch.setenv("SILKWATCH_CONFIG", str(path))
    assert load_config().digest_period == "week"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[warehouse]\npaht = 'x'\n", r"unknown key 'paht' in \[warehouse\]"),
        ("[wearhouse]\npath = 'x'\n", r"unknown section \[wearhouse\]"),
        ("[email]\nport = '587'\n", r"\[email\] port must be int, got str"),
        ("[fetch]\nallow_private_networks = 1\n", r"allow_private_networks must be bool"),
        ("[digest]\nperiod = 'month'\n", r"period must be one of day, week, all"),
        ("[warehouse]\npath = ''\n", r"path must not be empty"),
        ("[warehouse\n", r"invalid TOML"),
    ],
)
def test_bad_config_names_file_and_key(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(path)
    assert str(path) in str(info.value)


def test_missing_config_names_the_path(tmp_path):
    with pytest.raises(ConfigError, match=r"nope\.toml: config file not found"):
        load_config(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[schedule]\ndaily_digest = "0 25 * * *"\n', r"daily_digest: '0 25 [* ]+' is not a cron .*Bad hour"),
        ('[schedule]\nweekly_digest = "0 7 * * 8"\n', r"weekly_digest: '0 7 \* \* 8' is not a cron"),
        ('[schedule]\ndaily_digest = "0 7 * *"\n', r"\[schedule\] daily_digest must be a 5-field cron expression"),
        ("[fetch]\nallowed_private_addresses = [1]\n", r"allowed_private_addresses must be list of str, got int 1"),
        ("[breaking]\nhours = 0\n", r"\[breaking\] hours must be more than 0, got 0"),
        ("warehouse = 3\n", r"warehouse must be a \[section\]"),
    ],
)  # fmt: skip
def test_schedule_and_values_checked_as_serve_reads_them(tmp_path, text, message):
    """Cron expressions are parsed (not only their fields counted), and every error is one line."""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_sections_are_typed_not_dicts(tmp_path):
    cfg = load_config(write(tmp_path, '[fetch]\nconnect_timeout = 5\n[schedule]\ntimezone = "Asia/Almaty"\n'))
    assert cfg.fetch.connect_timeout == 5.0 and isinstance(cfg.fetch.connect_timeout, float)
    assert (cfg.schedule.timezone, cfg.schedule.daily_digest) == ("Asia/Almaty", "0 7 * * *")
