"""`make reliability`'s table: per category of reliability case, how many ran, survived, lost data.

Cases are marked ``@pytest.mark.reliability("<category>")``; a case that had data stored before
its hostile event records ``record_property("data_lost", n)``. With ``--reliability-report`` the
table is printed after the run, and its last line is ``name=value`` pairs for scripts; before it,
the seconds that cases measured (``record_property("exit_seconds", s)``, or run_/baseline_seconds).
"""

from __future__ import annotations

import pytest

CATEGORIES = (
    "hostile feed", "hostile page", "network safety", "crash", "stops", "stalls", "concurrency", "injection",
)  # fmt: skip
TIMINGS = ("exit_seconds", "run_seconds", "baseline_seconds")  # what a case may measure, in seconds
_category = pytest.StashKey[dict]()
_outcomes: dict[str, dict] = {}  # node id -> passed, ran, lost (one pytest session per process)
_timings: dict[str, dict[str, float]] = {}  # node id -> measured seconds


def pytest_addoption(parser) -> None:
    parser.addoption("--reliability-report", action="store_true", help="print the reliability table at the end")


def pytest_collection_modifyitems(config, items) -> None:
    categories = {}
    for item in items:
        marker = item.get_closest_marker("reliability")
        if marker is not None:
            category = marker.args[0] if marker.args else ""
            if category not in CATEGORIES:
                raise pytest.UsageError(f"{item.nodeid}: reliability category {category!r} is not one of {CATEGORIES}")
            categories[item.nodeid] = category
    config.stash[_category] = categories


def pytest_runtest_logreport(report) -> None:
    """Per case: passed only if every phase passed; data lost as the case recorded it."""
    case = _outcomes.setdefault(report.nodeid, {"passed": True, "ran": False, "lost": 0})
    case["passed"] = case["passed"] and not report.failed
    case["ran"] = case["ran"] or (report.when == "call" and not report.skipped) or report.failed
    case["lost"] = max(case["lost"], sum(int(v) for k, v in report.user_properties if k == "data_lost"))
    for name, value in report.user_properties:
        if name in TIMINGS:
            _timings.setdefault(report.nodeid, {})[name] = float(value)


def reliability_table(categories: dict[str, str], outcomes: dict[str, dict]) -> list[str]:
    rows = {c: [0, 0, 0] for c in CATEGORIES}
    for nodeid, category in categories.items():
        case = outcomes.get(nodeid)
        if case is None or not case["ran"]:
            continue  # deselected or skipped: not tried
        rows[category][0] += 1
        rows[category][1] += case["passed"]
        rows[category][2] += case["lost"]
    total = [sum(r[i] for r in rows.values()) for i in range(3)]
    lines = [f"{'category':<16} {'tried':>6} {'survived':>9} {'data lost':>10}"]
    lines += [f"{c:<16} {t:>6} {s:>9} {lost:>10}" for c, (t, s, lost) in rows.items()]
    lines.append(f"{'total':<16} {total[0]:>6} {total[1]:>9} {total[2]:>10}")
    names = ("tried", "survived", "lost")
    pairs = [f"{c.replace(' ', '_')}_{k}={v}" for c, r in rows.items() for k, v in zip(names, r, strict=True)]
    pairs += [f"total_tried={total[0]}", f"total_survived={total[1]}", f"data_lost={total[2]}"]
    lines.append(" ".join(pairs))
    return lines


def pytest_terminal_summary(terminalreporter, config) -> None:
    if not config.getoption("--reliability-report"):
        return
    terminalreporter.section("reliability")
    for nodeid, measured in _timings.items():
        case = nodeid.split("::")[-1]
        terminalreporter.write_line(f"{case:<60} " + " ".join(f"{k} {v:.1f}" for k, v in measured.items()))
    for line in reliability_table(config.stash.get(_category, {}), _outcomes):
        terminalreporter.write_line(line)
