"""The plugin as the runtime loads it: entry point, settings section, data source, submitter."""

from __future__ import annotations

from pathlib import Path

import pytest

from lstarb_rpc import RpcConfig, RpcSource, RpcSubmitter
from lstarb_runtime.config import load_config
from lstarb_runtime.plugin_host import PluginHost
from lstarb_sdk import PluginContext
from lstarb_sdk.errors import ConfigError


def _host() -> PluginHost:
    host = PluginHost()
    host.discover()
    host.select(["rpc"])
    return host


def test_entry_point_and_sdk_api() -> None:
    host = _host()
    assert "rpc" in host.installed()
    import lstarb_rpc.plugin as plugin

    assert plugin.LSTARB_SDK_API == "1.2"  # it uses lstarb_sdk.reconnect (1.2)


def test_settings_section_builds_the_source_and_a_paper_submitter(tmp_path: Path) -> None:
    path = tmp_path / "lstarb.toml"
    path.write_text(
        '[plugins.rpc]\nurl = "https://rpc.example.com:8443/k"\ncommitment = "processed"\n'
        '[[plugins.rpc.endpoints]]\nurl = "http://10.1.1.1:8899"\n'
    )
    loaded = load_config(path, environ={})
    host = _host()
    models = {p: m for p, m in host.call_strict("lstarb_config_model") if m is not None}
    loaded.validate_plugins(models)
    config = loaded.plugin_models["rpc"]
    assert isinstance(config, RpcConfig) and config.commitment == "processed"
    context = PluginContext(plugin_configs={"rpc": config})
    [source] = dict(host.call_strict("lstarb_data_sources", context=context))["rpc"]
    assert isinstance(source, RpcSource)
    assert [e.ws_url for e in source.endpoints] == [
        "wss://rpc.example.com:8444/k",
        "ws://10.1.1.1:8900",
    ]
    [submitter] = dict(host.call_strict("lstarb_submitters", context=context))["rpc"]
    assert isinstance(submitter, RpcSubmitter) and submitter.paper
    live = PluginContext(paper=False, plugin_configs={"rpc": config})
    [submitter] = dict(host.call_strict("lstarb_submitters", context=live))["rpc"]
    assert not submitter.paper


def test_a_bad_setting_is_named_with_its_key(tmp_path: Path) -> None:
    path = tmp_path / "lstarb.toml"
    path.write_text('[plugins.rpc]\nurl = "ftp://x"\n')
    loaded = load_config(path, environ={})
    models = {p: m for p, m in _host().call_strict("lstarb_config_model") if m is not None}
    with pytest.raises(ConfigError, match=r"plugins\.rpc\.url"):
        loaded.validate_plugins(models)
