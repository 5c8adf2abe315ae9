"""The metrics registry and its HTTP exporter (a real server on a free loopback port)."""

from __future__ import annotations

import math
import socket
from collections.abc import Iterator

import httpx
import pytest

from lstarb_runtime import metrics as m


@pytest.fixture
def server() -> Iterator[m.MetricsServer]:
    running = m.serve(0)
    yield running
    running.close()


def _value(name: str, **labels: str) -> float:
    value = m.REGISTRY.get_sample_value(name, labels)
    assert value is not None, f"{name}{labels} not exported"
    return value


def test_the_seeds_metrics_exist_with_their_types() -> None:
    types = {family.name: family.type for family in m.REGISTRY.collect()}
    assert types["events_published"] == "counter"
    assert types["opportunities_validated"] == "counter"
    assert types["executions_succeeded"] == "counter"
    assert types["execution_duration_ms"] == "histogram"
    assert types["profit_realized_sol"] == "gauge"
    names = m.metric_names()
    assert {"events_published_total", "execution_duration_ms_bucket"} <= names
    assert "events_published" not in names  # a counter is only ever exported as ..._total
    assert all(n.startswith(("lstarb_", "process_", "python_")) or n in _SEED for n in names)


_SEED = {
    "events_published_total",
    "opportunities_validated_total",
    "executions_succeeded_total",
    "execution_duration_ms_bucket",
    "execution_duration_ms_sum",
    "execution_duration_ms_count",
    "profit_realized_sol",
}


def test_the_exporter_serves_what_was_recorded(server: m.MetricsServer) -> None:
    m.EVENTS_PUBLISHED.labels(stream="OPPORTUNITIES", type="ExporterTestEvent").inc(3)
    m.stage("sign").observe(0.00015)
    body = httpx.get(server.url, timeout=5).text
    assert 'events_published_total{stream="OPPORTUNITIES",type="ExporterTestEvent"} 3.0' in body
    assert 'lstarb_stage_latency_seconds_bucket{le="0.00025",stage="sign"}' in body
    assert "process_resident_memory_bytes" in body
    assert 'lstarb_build_info{sdk_api="' in body
    assert "_created" not in body
    assert server.host == "127.0.0.1"


def test_a_process_serves_once(server: m.MetricsServer) -> None:
    assert m.serve(0) is server
    assert m.serve(server.port) is server
    with pytest.raises(m.MetricsServerError, match=r"already served at http://127\.0\.0\.1:"):
        m.serve(server.port + 1 if server.port < 65535 else server.port - 1)
    server.close()
    again = m.serve(0)
    try:
        assert httpx.get(again.url, timeout=5).status_code == 200
    finally:
        again.close()


def test_a_taken_port_is_named() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(m.MetricsServerError, match=f"cannot serve metrics on 127.0.0.1:{port}"):
            m.serve(port)


def test_a_data_source_age_is_computed_when_scraped() -> None:
    source = m.data_source("test-source-age")
    assert math.isnan(
        _value("lstarb_data_source_last_update_age_seconds", source="test-source-age")
    )
    source.updated(312_000_100)
    source.updated(312_000_090)  # out of order: the slot gauge keeps the highest
    age = _value("lstarb_data_source_last_update_age_seconds", source="test-source-age")
    assert 0 <= age < 5
    assert _value("lstarb_data_source_slot", source="test-source-age") == 312_000_100
    assert _value("lstarb_data_source_updates_total", source="test-source-age") == 2
    source.errors.inc()
    assert _value("lstarb_data_source_errors_total", source="test-source-age") == 1


def test_a_bound_stage_records_into_the_labelled_series() -> None:
    before = m.REGISTRY.get_sample_value("lstarb_stage_latency_seconds_count", {"stage": "land"})
    land = m.stage("land")
    land.observe(0.8)
    land.observe(1.7)
    count = _value("lstarb_stage_latency_seconds_count", stage="land")
    assert count == (before or 0) + 2
    assert _value("lstarb_stage_latency_seconds_bucket", stage="land", le="1.0") >= 1
    with pytest.raises(ValueError, match="unknown stage 'route'; stages: update, detect"):
        m.stage("route")


def test_kill_switch_state() -> None:
    m.set_kill_switch(True)
    assert _value("lstarb_kill_switch_engaged") == 1
    m.set_kill_switch(False)
    assert _value("lstarb_kill_switch_engaged") == 0
    assert _value("lstarb_kill_switch_changed_timestamp_seconds") > 1.7e9
    assert m.mode_label(True) == "paper" and m.mode_label(False) == "live"


def test_endpoint_labels_never_carry_a_urls_secrets() -> None:
    from lstarb_runtime.logs import register_secret

    label = m.endpoint_label
    assert label("https://user:pw@rpc.example.com:8443/KEY123?api-key=abc") == (
        "rpc.example.com:8443"
    )
    assert label("wss://rpc.example.com/v1/KEY123") == "rpc.example.com"
    assert label("user:pw@node.example.com:8899/KEY123?x=1") == "node.example.com:8899"
    assert label("127.0.0.1:8899") == "127.0.0.1:8899" and label("fast") == "fast"
    register_secret("k3y-in-a-hostname")
    assert label("k3y-in-a-hostname.rpc.example.com") == "********.rpc.example.com"
    assert label("") == "?"
