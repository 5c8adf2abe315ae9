"""The ``lstarb`` command line, end to end through click."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from lstarb_runtime.cli import _register_extensions, cli
from lstarb_sdk.version import SDK_API_VERSION, __version__


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"lstarb {__version__} (SDK API {SDK_API_VERSION})"


def test_plugins_json_lists_builtins_and_template(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert rows["example"]["distribution"] == "lstarb-plugin-example"
    assert rows["example"]["version"] == "0.1.0"
    assert "lstarb_on_opportunity" in rows["example"]["hooks"]
    assert rows["replay"]["builtin"] is True and rows["replay"]["error"] is None


def test_plugins_text(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["plugins"])
    assert result.exit_code == 0
    assert "lstarb-plugin-example 0.1.0" in result.output
    assert "hooks: lstarb_config_model, lstarb_dex_adapters, lstarb_on_opportunity" in result.output


def test_run_unknown_plugin_exits_2_listing_installed(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["run", "--plugins", "example,nosuch", "--duration", "1"])
    assert result.exit_code == 2
    assert "unknown plugin: nosuch" in result.output
    assert "installed:" in result.output and "example" in result.output


def test_run_invalid_config_exits_2_naming_key(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[risk]\nmax_slippage_bps = -1\n")
    result = runner.invoke(cli, ["run", "--config", str(bad), "--plugins", "example"])
    assert result.exit_code == 2
    assert "config key 'risk.max_slippage_bps'" in result.output


def test_run_invalid_plugin_setting_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[plugins.example]\nmin_profit_lamports = -5\n")
    result = runner.invoke(cli, ["run", "--config", str(bad), "--plugins", "example"])
    assert result.exit_code == 2
    assert "config key 'plugins.example.min_profit_lamports'" in result.output


def test_run_live_without_keypair_is_refused(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["run", "--plugins", "example", "--live"])
    assert result.exit_code == 2
    assert "--live needs a keypair" in result.output


def test_run_paper_by_default(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["run", "--plugins", "example", "--duration", "5"])
    assert result.exit_code == 0, result.output
    assert "PAPER trading" in result.output
    assert "summary" in result.output


def test_config_show_masks_secrets(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[plugins.example]\ngreeting = "hi"\napi_token = "abc123"\n')
    result = runner.invoke(
        cli, ["config", "show", "--config", str(path)], env={"LSTARB_NATS__URL": "nats://h:1"}
    )
    assert result.exit_code == 0, result.output
    assert "abc123" not in result.output
    assert 'api_token = "********"' in result.output
    assert 'url = "nats://h:1"  # environment LSTARB_NATS__URL' in result.output
    as_json = runner.invoke(cli, ["config", "show", "--json", "--config", str(path)])
    doc = json.loads(as_json.output)
    assert doc["settings"]["plugins"]["example"]["api_token"] == "********"
    assert doc["settings"]["run"]["live"] is False


def test_plugin_commands_are_registered(runner: CliRunner) -> None:
    _register_extensions(cli)
    result = runner.invoke(cli, ["example-hello"])
    assert result.exit_code == 0
    assert "hello from lstarb-plugin-example" in result.output


def test_console_script_runs() -> None:
    exe = Path(sys.executable).with_name("lstarb")
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith(f"lstarb {__version__}")
