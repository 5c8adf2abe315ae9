"""The ``lstarb`` command line, end to end through click."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from solders.keypair import Keypair

from lstarb_runtime.bus import free_local_url
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


def test_plugins_show_each_sdk_api_version(runner: CliRunner) -> None:
    rows = {r["name"]: r for r in json.loads(runner.invoke(cli, ["plugins", "--json"]).output)}
    text = runner.invoke(cli, ["plugins"]).output
    for name, row in rows.items():
        assert row["sdk_api"], name
        line = next(x for x in text.splitlines() if x.startswith(f"{name} "))
        assert f"SDK API {row['sdk_api']}" in line, line


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
    assert "--live refused; missing: a keypair file" in result.output


def _keypair(tmp_path: Path) -> Path:
    path = tmp_path / "id.json"
    path.write_text(json.dumps(list(Keypair().to_bytes())))
    path.chmod(0o600)
    return path


def test_run_live_on_a_replayed_market_refuses_naming_what_is_missing(
    runner: CliRunner, tmp_path: Path
) -> None:
    args = ["run", "--plugins", "orca", "--live", "--keypair", str(_keypair(tmp_path))]
    result = runner.invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert "LIVE trading" not in result.output
    assert "--live refused; missing: a live data source" in result.output
    assert "a submitter that sends transactions" in result.output
    assert "executor" not in result.output  # built: not among what is missing


def test_keypair_without_live_warns_that_it_is_not_used(runner: CliRunner, tmp_path: Path) -> None:
    args = ["run", "--plugins", "orca", "--keypair", str(_keypair(tmp_path)), "--duration", "30"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "warning: run.keypair (from command line) is not used" in result.output
    assert "PAPER trading" in result.output


def test_run_paper_by_default(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["run", "--plugins", "orca", "--duration", "30"])
    assert result.exit_code == 0, result.output
    assert "PAPER trading" in result.output
    assert "summary" in result.output


def test_run_with_no_dex_adapter_says_why_and_exits_2(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["run", "--plugins", "", "--duration", "5"])
    assert result.exit_code == 2, result.output
    assert "nothing to do: --plugins '' provide no DEX adapter" in result.output
    installed = result.output.split("installed DEX plugins: ")[1].split()
    assert {"meteora,", "orca,", "pumpswap,"} <= set(installed)


def test_run_of_a_role_not_built_says_so_and_exits_1(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lstarb_runtime.services import runner as runner_module

    monkeypatch.delitem(runner_module.ROLE_SERVICES, "auditor")
    result = runner.invoke(cli, ["run", "--plugins", "orca", "--role", "auditor"])
    assert result.exit_code == 1, result.output
    assert "nothing to do: the auditor service is not built yet" in result.output


@pytest.mark.parametrize("path", ["does-not-exist", "a-file.json"])
def test_run_that_finds_no_pools_says_why_and_exits_1(
    runner: CliRunner, tmp_path: Path, path: str
) -> None:
    (tmp_path / "a-file.json").write_text("{}")
    config = tmp_path / "c.toml"
    config.write_text(f'[plugins.replay]\npath = "{tmp_path / path}"\n')
    result = runner.invoke(cli, ["run", "--plugins", "orca", "--config", str(config)])
    assert result.exit_code != 0, result.output
    assert "no pools found" in result.output or str(tmp_path / path) in result.output


def _run_logs(tmp_path: Path, config_text: str) -> str:
    config = tmp_path / "c.toml"
    config.write_text(config_text)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LSTARB_")}
    env.update(LSTARB_NATS__URL=free_local_url(), LSTARB_NATS__DATA_DIR=str(tmp_path / "nats"))
    exe = Path(sys.executable).with_name("lstarb")
    out = subprocess.run(
        [str(exe), "run", "--plugins", "orca", "--config", str(config)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stderr


def test_log_level_setting_is_applied(tmp_path: Path) -> None:
    assert " INFO " not in _run_logs(tmp_path, "")
    assert " INFO lstarb." in _run_logs(tmp_path, 'log_level = "INFO"\n')


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
