"""The deployment examples (examples/deploy/) stay runnable: every ``lstarb`` command in them
parses with the real command line, every setting they set is one the configuration knows,
and docs/deploy.md shows the Procfile as it is."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest
import yaml

from lstarb_runtime.cli import _register_extensions, cli
from lstarb_runtime.config import ROLES, load_config

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "examples" / "deploy"


def _check_command(argv: list[str]) -> str:
    """Parse ``lstarb ARGS`` as the CLI would (options, choices); returns the command name."""
    _register_extensions(cli)
    name, rest = argv[0], argv[1:]
    command = cli.get_command(click.Context(cli), name)
    assert command is not None, f"lstarb {name}: no such command"
    command.make_context(name, list(rest))
    return name


def _check_env(env: dict[str, str]) -> None:
    config = {k: v for k, v in env.items() if k.startswith("LSTARB_") and k != "LSTARB_CONFIG"}
    load_config(None, environ=config)  # raises ConfigError naming a wrong key


def _procfile() -> list[tuple[str, dict[str, str], list[str]]]:
    entries = []
    for line in (DEPLOY / "Procfile").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, command = line.split(":", 1)
        words = shlex.split(command)
        env = {}
        while "=" in words[0]:
            key, value = words.pop(0).split("=", 1)
            env[key] = value
        entries.append((name, env, words))
    return entries


def test_the_procfile_runs_every_role_with_valid_commands() -> None:
    entries = _procfile()
    roles = set()
    for name, env, words in entries:
        assert words[0] == "lstarb", name
        assert _check_command(words[1:]) in ("nats", "simnet", "run")
        if "--role" in words:
            roles.add(words[words.index("--role") + 1])
        if "LSTARB_CONFIG" in env:
            load_config((ROOT / env["LSTARB_CONFIG"]), environ={})
        _check_env({k: v.replace("$PORT", "5000") for k, v in env.items()})
    assert roles == set(ROLES) - {"all"}


def test_compose_runs_every_role_with_valid_commands_and_settings() -> None:
    doc = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    roles = set()
    for name, service in doc["services"].items():
        command = service.get("command")
        if not command or command[0] != "lstarb":
            continue
        _check_command(command[1:])
        if "--role" in command:
            roles.add(command[command.index("--role") + 1])
        _check_env({k: str(v) for k, v in (service.get("environment") or {}).items()})
        if "executor" in name:
            assert service["environment"]["LSTARB_EXECUTOR__NAME"] == name
    assert roles == set(ROLES) - {"all"}


@pytest.mark.parametrize("role", [r for r in ROLES if r != "all"])
def test_the_systemd_template_runs_each_role(role: str) -> None:
    unit = (DEPLOY / "systemd" / "lstarb-role@.service").read_text()
    start = re.search(r"^ExecStart=(.*)$", unit, re.M)
    assert start
    words = shlex.split(start.group(1).replace("%j", role))
    assert words[0].endswith("/lstarb")
    assert _check_command(words[1:]) == "run"
    env = dict(
        line.split("=", 2)[1:]  # type: ignore[misc]
        for line in unit.splitlines()
        if line.startswith("Environment=")
    )
    _check_env(
        {k: v.replace("%H", "host").replace("%j", role).replace("%i", "1") for k, v in env.items()}
    )


def test_the_example_configuration_is_valid() -> None:
    loaded = load_config(DEPLOY / "lstarb.toml", environ={})
    assert loaded.settings.nats.embedded is False


def test_deploy_doc_shows_the_procfile_as_it_is() -> None:
    doc = (ROOT / "docs" / "deploy.md").read_text()
    assert (DEPLOY / "Procfile").read_text() in doc


def test_a_misspelt_command_is_caught() -> None:
    with pytest.raises(click.UsageError):
        _check_command(["run", "--role", "plannr"])
