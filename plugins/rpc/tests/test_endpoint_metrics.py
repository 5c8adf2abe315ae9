"""A lagging or failing endpoint is named in Prometheus, not only in the log (issue 12).

Two real simnet peers; the second is reached through a URL carrying an API key in its path
and query, as providers hand them out. The runtime's metrics are scraped over real HTTP from
its exporter: the endpoints' series name each by ``host:port``, and no scrape holds the key.
"""

from __future__ import annotations

import secrets

import httpx
from prometheus_client.parser import text_string_to_metric_families
from rpc_testlib import fast_config, following, keys_of, manual

from lstarb_rpc import EndpointConfig
from lstarb_rpc.urls import endpoint_name
from lstarb_runtime import metrics
from lstarb_runtime.simnet import Simnet


def scrape(source: str) -> tuple[str, dict[tuple[str, ...], float]]:
    """The exporter's text and the endpoint samples of ``source``, by (name, endpoint[, kind])."""
    text = httpx.get(metrics.serve(0).url).text
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.startswith("lstarb_data_source_endpoint_"):
                if sample.labels["source"] != source:
                    continue
                key = (sample.name, sample.labels["endpoint"], sample.labels.get("kind", ""))
                samples[key] = sample.value
    return text, samples


async def test_a_lagging_then_failing_endpoint_is_named_in_the_metrics() -> None:
    key = secrets.token_hex(12)
    label = f"rpc-endpoints-{secrets.token_hex(4)}"
    async with Simnet(manual(seed=3)) as fresh, Simnet(manual(seed=3)) as behind:
        keyed = f"{behind.http_url}/{key}?api-key={key}"
        config = fast_config(fresh.http_url, lag_slots=4, endpoints=[EndpointConfig(url=keyed)])
        names = endpoint_name(fresh.http_url), endpoint_name(behind.http_url)
        async with following(config, keys_of(fresh)[:4]) as seen:
            metrics.data_source(label, seen.source)
            gauge = "lstarb_data_source_endpoint_"

            def value(metric: str, endpoint: str, kind: str = "") -> float | None:
                return scrape(label)[1].get((gauge + metric, endpoint, kind))

            await seen.until(lambda: all(value("connected", n) == 1 for n in names))
            fresh.step(), behind.step()  # both report a slot
            await seen.until(lambda: all((value("slot", n) or 0) > 0 for n in names))
            assert value("lagging", names[1]) == 0
            for _ in range(10):
                fresh.step()  # the other peer stays where it was
            await seen.until(lambda: value("lagging", names[1]) == 1)
            text, samples = scrape(label)
            assert samples[(gauge + "lagging", names[0], "")] == 0
            assert samples[(gauge + "slot", names[0], "")] == fresh.chain.slot
            assert samples[(gauge + "slot", names[1], "")] == behind.chain.slot
            assert samples[(gauge + "events_total", names[1], "lag_events")] == 1
            assert samples[(gauge + "events_total", names[0], "updates")] > 0
            assert key not in text and "api-key" not in text

            await behind.stop()  # the lagging endpoint now fails outright
            await seen.until(lambda: value("connected", names[1]) == 0)
            await seen.until(
                lambda: (value("events_total", names[1], "connection_errors") or 0) > 0
            )
            text, samples = scrape(label)
            assert samples[(gauge + "connected", names[0], "")] == 1
            assert samples[(gauge + "events_total", names[1], "disconnects")] >= 1
            assert key not in text
