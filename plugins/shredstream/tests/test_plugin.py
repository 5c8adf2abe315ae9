"""The plugin as the runtime loads it: entry point, opt-in, settings section, data source."""

from __future__ import annotations

from pathlib import Path

import pytest

from lstarb_runtime.config import load_config
from lstarb_runtime.plugin_host import PluginHost
from lstarb_sdk import PluginContext
from lstarb_sdk.errors import ConfigError
from lstarb_sdk.version import api_compatible
from lstarb_shredstream import ShredstreamConfig, ShredstreamSource


def test_the_entry_point_loads_and_the_plugin_is_opt_in() -> None:
    host = PluginHost()
    host.discover()
    record = host.records["shredstream"]
    assert record.loaded and record.error is None
    assert record.opt_in and record.sdk_api == "1.2" and api_compatible(record.sdk_api)
    default = host.select(None)
    assert "shredstream" not in default and "rpc" in default  # lstarb run as before
    assert "shredstream" not in host.active()
    host = PluginHost()
    host.discover()
    assert host.select(["shredstream", "rpc"]) == ["paper", "replay", "rpc", "shredstream"]
    assert "shredstream" in host.active()


def test_the_settings_section_builds_the_source(tmp_path: Path) -> None:
    path = tmp_path / "lstarb.toml"
    path.write_text(
        '[plugins.shredstream]\nurl = "10.0.0.5:9999"\nmax_seen_signatures = 500\n'
        "backoff_max_s = 3\n"
    )
    loaded = load_config(path, environ={})
    host = PluginHost()
    host.discover()
    host.select(["shredstream"])
    models = {p: m for p, m in host.call_strict("lstarb_config_model") if m is not None}
    loaded.validate_plugins(models)
    config = loaded.plugin_models["shredstream"]
    assert isinstance(config, ShredstreamConfig) and config.max_seen_signatures == 500
    context = PluginContext(plugin_configs={"shredstream": config})
    [source] = dict(host.call_strict("lstarb_data_sources", context=context))["shredstream"]
    assert isinstance(source, ShredstreamSource) and source.name == "shredstream"
    assert source.endpoint_health()[0].name == "10.0.0.5:9999"
    assert source.selector.signatures.size == 500


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9999", "127.0.0.1", "user:pw@host:9999", "host:99999", "h:0"]
)
def test_a_bad_url_is_named_with_its_key(tmp_path: Path, url: str) -> None:
    path = tmp_path / "lstarb.toml"
    path.write_text(f'[plugins.shredstream]\nurl = "{url}"\n')
    loaded = load_config(path, environ={})
    host = PluginHost()
    host.discover()
    host.select(["shredstream"])
    models = {p: m for p, m in host.call_strict("lstarb_config_model") if m is not None}
    with pytest.raises(ConfigError, match=r"plugins\.shredstream\.url"):
        loaded.validate_plugins(models)


def test_ipv6_and_names_are_good_urls() -> None:
    for url in ("[::1]:9999", "shredstream-proxy:9999", "127.0.0.1:1"):
        assert ShredstreamConfig(url=url).url == url
