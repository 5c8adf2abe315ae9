"""Every Grafana panel's query, run against a real Prometheus scraping a real lstarb exporter.

The test starts Debian's ``prometheus`` (``apt-get install prometheus``; ``.ci/run`` installs it)
on a free port with a temporary store and the repository's example scrape configuration pointed
at ``exporter_driver.py``, a process that records realistic values through
``lstarb_runtime.metrics``. Each panel must be valid PromQL and return data; each metric a
panel names must be one ``metrics.py`` defines; each lstarb metric must be on some dashboard.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

from lstarb_runtime import metrics
from lstarb_runtime.bus import free_local_url

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "dashboards"
DRIVER = Path(__file__).with_name("exporter_driver.py")
FILES = ("overview.json", "latency.json", "funnel.json", "execution.json", "data-sources.json")
GRAFANA_VARIABLES = {"$__rate_interval": "30s", "$__range": "1h", "$job": ".*"}
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool"}
PROMQL_WORDS |= {"and", "or", "unless", "offset"}


def _dashboards() -> dict[str, dict[str, Any]]:
    return {name: json.loads((DASHBOARDS / name).read_text()) for name in FILES}


def _queries() -> list[tuple[str, str]]:
    """(``file: panel title``, expression) of every panel target."""
    return [
        (f"{name}: {panel['title']}", target["expr"])
        for name, doc in _dashboards().items()
        for panel in doc["panels"]
        for target in panel["targets"]
    ]


def metrics_named_in(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (not functions, labels or keywords)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        rest = text[match.end() :].lstrip()
        if match.group() not in PROMQL_WORDS and not rest.startswith("("):
            names.add(match.group())
    return names


def test_metric_names_are_found_in_expressions() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (le, stage) (rate(a_bucket{job=~"$job",x="y z"}'
        "[$__rate_interval]))) / on (stage) group_left b_total - scalar(max(c))"
    )
    assert metrics_named_in(expr) == {"a_bucket", "b_total", "c"}


def test_the_json_is_what_build_py_writes() -> None:
    result = subprocess.run(
        [sys.executable, str(DASHBOARDS / "build.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_dashboards_are_well_formed_for_provisioning() -> None:
    provisioned = yaml.safe_load((DASHBOARDS / "provisioning/datasources/lstarb.yaml").read_text())
    uid = next(d["uid"] for d in provisioned["datasources"] if d["type"] == "prometheus")
    docs = _dashboards()
    assert len({doc["uid"] for doc in docs.values()}) == len(FILES)
    for name, doc in docs.items():
        assert doc["panels"], name
        assert len({p["id"] for p in doc["panels"]}) == len(doc["panels"]), name
        for panel in doc["panels"]:
            where = f"{name}: {panel['title']}"
            assert panel["datasource"]["uid"] == uid, where
            grid = panel["gridPos"]
            assert grid["x"] + grid["w"] <= 24 and grid["w"] > 0 and grid["h"] > 0, where
            assert panel["targets"], where
            assert all(t["expr"] and t["datasource"]["uid"] == uid for t in panel["targets"])
    provider = yaml.safe_load((DASHBOARDS / "provisioning/dashboards/lstarb.yaml").read_text())
    assert provider["providers"][0]["type"] == "file"


def test_panels_name_only_metrics_that_metrics_py_defines() -> None:
    defined = metrics.metric_names()
    unknown = {
        (where, name)
        for where, expr in _queries()
        for name in metrics_named_in(expr)
        if name not in defined
    }
    assert not unknown


def test_every_lstarb_metric_is_on_a_dashboard() -> None:
    used = {name for _, expr in _queries() for name in metrics_named_in(expr)}
    families = {
        name.removesuffix(suffix)
        for name in used
        for suffix in ("_bucket", "_sum", "_count", "_total", "")
        if name.endswith(suffix)
    }
    missing = {
        name
        for name in metrics.metric_names()
        if not name.startswith(("process_", "python_"))
        and name not in used
        and not any(name.startswith(f) for f in families if f)
        and name != "lstarb_build_info"  # the dashboards' job variable reads it
    }
    assert not missing


def test_the_example_scrape_config_is_valid() -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool missing: apt-get install prometheus"
    result = subprocess.run(
        [promtool, "check", "config", str(DASHBOARDS / "prometheus.yml")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _free_port() -> int:
    port = urlsplit(free_local_url()).port
    assert port is not None
    return port


def _wait(what: str, check: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except httpx.HTTPError:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


def _query(base: str, expr: str) -> dict[str, Any]:
    reply: dict[str, Any] = httpx.get(f"{base}/api/v1/query", params={"query": expr}).json()
    return reply


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("Debian's prometheus package is missing: apt-get install -y prometheus")
    tmp = tmp_path_factory.mktemp("prometheus")
    driver = subprocess.Popen([sys.executable, str(DRIVER)], stdout=subprocess.PIPE, text=True)
    prom: subprocess.Popen[bytes] | None = None
    try:
        assert driver.stdout is not None
        exporter_port = int(driver.stdout.readline())
        config = yaml.safe_load((DASHBOARDS / "prometheus.yml").read_text())
        config["global"]["scrape_interval"] = "1s"
        (job,) = config["scrape_configs"]
        job["static_configs"] = [{"targets": [f"127.0.0.1:{exporter_port}"]}]
        (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
        port = _free_port()
        log = (tmp / "prometheus.log").open("wb")
        prom = subprocess.Popen(
            [
                binary,
                f"--config.file={tmp / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        _wait("prometheus ready", lambda: httpx.get(f"{base}/-/ready").status_code == 200)

        def scraped_enough() -> bool:
            reply = _query(base, "count_over_time(lstarb_build_info[1m])")
            result = reply["data"]["result"]
            return bool(result) and float(result[0]["value"][1]) >= 5

        _wait("five scrapes of the exporter", scraped_enough)
        yield base
    finally:
        for proc in (prom, driver):
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=10)


@pytest.mark.slow
def test_every_panel_returns_data_from_a_real_prometheus(prometheus: str) -> None:
    problems = []
    queries = _queries()
    for where, expr in queries:
        promql = expr
        for variable, value in GRAFANA_VARIABLES.items():
            promql = promql.replace(variable, value)
        assert "$" not in promql, f"{where}: unknown Grafana variable in {expr}"
        reply = _query(prometheus, promql)
        if reply["status"] != "success":
            problems.append(f"{where}: {reply.get('error')} in {promql}")
            continue
        values = [float(r["value"][1]) for r in reply["data"]["result"]]
        if not any(not math.isnan(v) for v in values):
            problems.append(f"{where}: no data ({values}) from {promql}")
    assert not problems, "\n".join(problems)
    assert len(queries) >= 40
