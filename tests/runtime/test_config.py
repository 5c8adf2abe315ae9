"""Configuration layers (file < environment < flags) and their error messages."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from lstarb_runtime.config import MASK, load_config, masked
from lstarb_sdk import PluginConfig
from lstarb_sdk.errors import ConfigError


def _toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "lstarb.toml"
    path.write_text(text)
    return path


def test_defaults_are_paper_and_local_nats() -> None:
    cfg = load_config(None, environ={})
    assert cfg.settings.run.live is False
    assert cfg.settings.nats.url == "nats://127.0.0.1:4222"
    assert cfg.settings.run.role == "all"


def test_flags_override_env_override_file(tmp_path: Path) -> None:
    path = _toml(
        tmp_path,
        '[nats]\nurl = "nats://file:1"\n[run]\nrole = "planner"\nduration = 5\n',
    )
    env = {"LSTARB_NATS__URL": "nats://env:2", "LSTARB_RUN__DURATION": "7"}
    cfg = load_config(path, environ=env, overrides={"nats.url": "nats://flag:3", "run.role": None})
    assert cfg.settings.nats.url == "nats://flag:3"
    assert cfg.settings.run.duration == 7.0  # env beats file
    assert cfg.settings.run.role == "planner"  # file value kept when the flag is absent
    assert cfg.sources["nats.url"] == "command line"
    assert cfg.sources["run.duration"] == "environment LSTARB_RUN__DURATION"
    assert cfg.sources["run.role"] == f"file {path}"


def test_env_plugins_list_is_comma_separated() -> None:
    cfg = load_config(None, environ={"LSTARB_RUN__PLUGINS": "raydium, meteora"})
    assert cfg.settings.run.plugins == ["raydium", "meteora"]


def test_config_file_named_by_env(tmp_path: Path) -> None:
    path = _toml(tmp_path, '[run]\nrole = "executor"\n')
    cfg = load_config(None, environ={"LSTARB_CONFIG": str(path)})
    assert cfg.settings.run.role == "executor"


@pytest.mark.parametrize(
    ("toml", "env", "needle"),
    [
        ('[run]\nrole = "trader"\n', {}, "config key 'run.role' (from file"),
        ("[nats]\nurl = 42\n", {}, "config key 'nats.url'"),
        ('[nats]\nurll = "x"\n', {}, "config key 'nats.urll' (from file"),
        ("", {"LSTARB_RISK__MAX_SLIPPAGE_BPS": "20000"}, "LSTARB_RISK__MAX_SLIPPAGE_BPS"),
        ("", {"LSTARB_NATS__URL": "http://x"}, "must look like nats://HOST:PORT"),
        ("[run\n", {}, "is not valid TOML"),
    ],
)
def test_invalid_config_names_the_key(
    tmp_path: Path, toml: str, env: dict[str, str], needle: str
) -> None:
    path = _toml(tmp_path, toml)
    with pytest.raises(ConfigError) as info:
        load_config(path, environ=env)
    assert needle in str(info.value)


def test_unreadable_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot read config file .*missing\.toml"):
        load_config(tmp_path / "missing.toml", environ={})


class _RpcConfig(PluginConfig):
    url: str = "http://127.0.0.1:8899"
    api_key: SecretStr | None = None
    timeout_s: float = 5.0


def test_plugin_section_validated_by_its_model(tmp_path: Path) -> None:
    path = _toml(tmp_path, '[plugins.rpc]\nurl = "http://a"\napi_key = "s3cret"\n')
    cfg = load_config(path, environ={"LSTARB_PLUGINS__RPC__TIMEOUT_S": "2.5"})
    cfg.validate_plugins({"rpc": _RpcConfig})
    model = cfg.plugin_models["rpc"]
    assert isinstance(model, _RpcConfig)
    assert model.timeout_s == 2.5 and model.url == "http://a"
    shown = masked(cfg.settings)
    assert shown["plugins"]["rpc"]["api_key"] == MASK
    assert masked(model)["api_key"] == MASK
    assert "s3cret" not in repr(masked(model))


def test_plugin_section_errors_name_key_and_never_echo_secrets(tmp_path: Path) -> None:
    path = _toml(tmp_path, '[plugins.rpc]\ntimeout_s = "soon"\napi_key = 5\n')
    cfg = load_config(path, environ={})
    with pytest.raises(ConfigError) as info:
        cfg.validate_plugins({"rpc": _RpcConfig})
    text = str(info.value)
    assert "config key 'plugins.rpc.timeout_s' (from file" in text
    assert "'soon'" in text
    assert "plugins.rpc.api_key" in text and ", got 5" not in text


def test_section_for_inactive_plugin_is_an_error(tmp_path: Path) -> None:
    cfg = load_config(_toml(tmp_path, "[plugins.orcaa]\nx = 1\n"), environ={})
    with pytest.raises(ConfigError, match=r"'plugins\.orcaa'.*no active plugin named 'orcaa'"):
        cfg.validate_plugins({"rpc": _RpcConfig})
