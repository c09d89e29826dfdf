"""The benchmarks still run against the code as it is now (a store change once broke
``bench.store`` unnoticed until the next full run): each on a tiny load, checking that it
gives its figures, never what they are (timings are for ``bench/``, not for tests)."""

from __future__ import annotations

import math
from typing import Any

import pytest

Row = dict[str, Any]


def figures(rows: list[Row]) -> dict[str, float]:
    assert rows, "no figures at all"
    failed = [r["metric"] for r in rows if str(r["metric"]).startswith("FAILED")]
    assert not failed, failed
    return {str(r["metric"]): float(r["value"]) for r in rows}


def test_the_core_bench_runs() -> None:
    from bench import core

    found = figures(core.run(rounds=1))
    assert any(m.startswith("clicked choice") and not math.isnan(v) for m, v in found.items())


def test_the_store_bench_runs_on_both_databases(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import store

    monkeypatch.setattr(store, "OPS", 3)
    monkeypatch.setattr(store, "ROUNDS", 1)
    monkeypatch.setattr(store, "SIZE_SAMPLE", 5)
    found = figures(store.run())
    assert "sqlite.turn.c1 ours" in found and "postgresql.turn.c1 ours" in found


def test_the_slack_http_bench_runs_each_kind_of_app(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import slack_http

    monkeypatch.setattr(slack_http, "CROWD", (("ours_sqlite",), 3))
    monkeypatch.setattr(slack_http, "CROWD_ROUNDS", 2)
    monkeypatch.setattr(slack_http, "CROWD_EACH", 2)
    rows = slack_http.run(users=(2,), rounds=1, apps=("floor", "ours_sqlite"))
    found = figures(rows)
    assert found["ours_sqlite.u2.cpu_ms_per_request (best)"] > 0
    assert "ours_sqlite.u2.cpu per request / floor's" in found
    # The crowd's probe percentiles are of both runs' acks together.
    assert found["ours_sqlite.u3.ack_p99 (median of 2)"] > 0
    if "ours_sqlite.u3.probe acks timed" in found:  # the runs may be over before a probe
        assert found["ours_sqlite.u3.probe_ack_p99"] >= found["ours_sqlite.u3.probe_ack_p50"]
