"""Configuration: a TOML file, then LSTARB_* environment variables, then flags.

Each later layer overrides the earlier one key by key. The merged document is
validated by pydantic (the runtime's own sections) and by each plugin's model
(its ``[plugins.<name>]`` section). Errors name the key, where its value came
from, and what is wrong.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from solders.pubkey import Pubkey

from lstarb_runtime.addresses import check_addresses
from lstarb_runtime.control.settings import BreakerSettings, ControlSettings
from lstarb_runtime.embedded.settings import SimnetSettings
from lstarb_runtime.executor.settings import ExecutorSettings
from lstarb_runtime.planner.settings import PlannerSettings, RiskSettings
from lstarb_sdk.errors import ConfigError
from lstarb_sdk.redact import mask_urls

ENV_PREFIX = "LSTARB_"
Role = Literal["all", "scanner", "planner", "executor", "system", "auditor"]
ROLES: tuple[str, ...] = ("all", "scanner", "planner", "executor", "system", "auditor")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NatsSettings(_Section):
    url: str = "nats://127.0.0.1:4222"
    embedded: bool = Field(
        True, description="start our own nats-server when none answers (never when live)"
    )
    data_dir: Path = Path(".lstarb/nats")
    ack_wait_s: float = Field(
        30.0,
        gt=0,
        le=3600,
        description="an event a process took and did not acknowledge (it died) goes to another "
        "process of its consumer group after this long; set when the group's consumer is created",
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        """nats:// or tls://, a host, a port in 1-65535 (default 4222), checked before anything
        connects, so a typo is a message naming it, not a traceback from the client."""
        scheme, sep, rest = value.partition("://")
        if not sep or scheme not in ("nats", "tls"):
            raise ValueError(
                f"scheme {scheme if sep else ''!r} is not nats:// or tls:// "
                "(it must look like nats://HOST:PORT)"
            )
        netloc = rest.rstrip("/").rpartition("@")[2]
        host, colon, port = netloc.rpartition(":")
        if not colon or host.endswith("[") or (netloc.startswith("[") and not host.endswith("]")):
            host, port = netloc, ""  # no port, or a bare IPv6 address in brackets
        if not host.strip("[]") or any(c in host for c in " /?#\t"):
            raise ValueError(f"no host in {value!r} (it must look like nats://HOST:PORT)")
        if port and not port.isdigit():
            raise ValueError(f"port {port!r} is not a number")
        if port and not 1 <= int(port) <= 65535:
            raise ValueError(f"port {port} is out of range (1-65535)")
        return value


class RunSettings(_Section):
    plugins: list[str] | None = None
    role: Role = "all"
    live: bool = False
    keypair: Path | None = None
    confirm_network: str | None = Field(
        None,
        description="--live: the cluster you mean to trade on (mainnet-beta, devnet, testnet, "
        "or a private chain's genesis hash), checked against the RPC endpoint's genesis hash",
    )
    duration: float | None = Field(None, gt=0)
    metrics_port: int | None = Field(
        None, ge=0, le=65535, description="serve Prometheus metrics on this port (0: any free)"
    )
    local_delivery: bool = Field(
        True,
        description="hand MARKET_DATA, OPPORTUNITIES and EXECUTION events published in this "
        "process to its own consumers at once (still stored on the server; its copy is "
        "acknowledged unhandled); false: every event through the server",
    )

    @field_validator("confirm_network")
    @classmethod
    def _network(cls, value: str | None) -> str | None:
        if value is None:
            return None

        if value in ("mainnet-beta", "devnet", "testnet"):
            return value
        try:
            Pubkey.from_string(value)
        except ValueError:
            raise ValueError(
                "not a cluster (mainnet-beta, devnet, testnet) nor a genesis hash"
            ) from None
        return value

    @field_validator("plugins", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


class ScannerSettings(_Section):
    """What to follow. With neither key set, every pool a recording holds."""

    pools: list[str] = Field(default_factory=list, description="pool addresses to follow")
    mints: list[str] = Field(
        default_factory=list,
        description="follow every pool between two of these mints (found by discovery)",
    )
    retape_seconds: float = Field(
        1200.0,
        gt=0,
        description="put every account held on the tape again this often, so a reader that "
        "starts any time rebuilds the book from MARKET_DATA's last hour",
    )
    pool_states: Literal["per_update", "per_burst"] = Field(
        "per_update",
        description="when pool states go on MARKET_DATA: one per change, stamped with the "
        "account that moved the pool (per_update; in a burst, after its strategies ran), or "
        "once per pool after "
        "each burst of updates taken back to back (per_burst: the tape's accounts first, "
        "fewer states; a state stands for the burst's last change)",
    )
    tape_first: bool = Field(
        True,
        description="put every account update that has already arrived on MARKET_DATA before "
        "the book, the pool states and the strategies take the first of them (a slot's "
        "notifications arrive together: the last one no longer waits for the strategies of "
        "the others); false: each update is taped, applied and run through the strategies "
        "before the next is taped",
    )

    @field_validator("pools", "mints")
    @classmethod
    def _addresses(cls, values: list[str]) -> list[str]:
        check_addresses(values)
        return values


class AuditorSettings(_Section):
    database_url: SecretStr | None = Field(
        None, description="postgresql://USER@HOST:PORT/DB (or sqlite:PATH); unset: ledger_path"
    )
    ledger_path: Path = Field(
        Path(".lstarb/ledger.sqlite"), description="the SQLite ledger when database_url is unset"
    )


class Settings(_Section):
    """The runtime's own settings; ``plugins`` holds raw plugin sections."""

    nats: NatsSettings = NatsSettings()
    run: RunSettings = RunSettings()
    scanner: ScannerSettings = ScannerSettings()
    planner: PlannerSettings = PlannerSettings()
    risk: RiskSettings = RiskSettings()
    auditor: AuditorSettings = AuditorSettings()
    executor: ExecutorSettings = ExecutorSettings()
    simnet: SimnetSettings = SimnetSettings()
    control: ControlSettings = ControlSettings()
    breakers: BreakerSettings = BreakerSettings()
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"
    log_format: Literal["text", "json"] = "text"
    plugins: dict[str, dict[str, Any]] = Field(default_factory=dict)


class LoadedConfig:
    """Validated settings plus the source of every key, for messages and ``config show``."""

    def __init__(self, settings: Settings, sources: dict[str, str]) -> None:
        self.settings = settings
        self.sources = sources
        self.plugin_models: dict[str, BaseModel] = {}

    def validate_plugins(self, models: Mapping[str, type[BaseModel]]) -> None:
        """Validate each plugin's section with its model; unknown sections are errors."""
        for name in self.settings.plugins:
            if name not in models:
                origin = self.sources.get(f"plugins.{name}", "config")
                raise ConfigError(
                    f"config key 'plugins.{name}' ({origin}): "
                    f"no active plugin named {name!r} declares settings"
                )
        for name, model in models.items():
            raw = self.settings.plugins.get(name, {})
            try:
                self.plugin_models[name] = model.model_validate(raw)
            except ValidationError as exc:
                raise _config_error(exc, f"plugins.{name}", self.sources) from None


def _set_path(doc: dict[str, Any], path: list[str], value: Any) -> None:
    node = doc
    for key in path[:-1]:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise ConfigError(f"config key '{'.'.join(path)}': '{key}' is not a section")
        node = child
    node[path[-1]] = value


def _merge(
    base: dict[str, Any],
    layer: Mapping[str, Any],
    origin: str,
    sources: dict[str, str],
    prefix: str = "",
) -> None:
    for key, value in layer.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value, origin, sources, dotted + ".")
        else:
            base[key] = dict(value) if isinstance(value, Mapping) else value
            sources[dotted] = origin
            if isinstance(value, Mapping):
                for sub in _flatten(value, dotted + "."):
                    sources[sub] = origin


def _flatten(doc: Mapping[str, Any], prefix: str = "") -> list[str]:
    keys: list[str] = []
    for key, value in doc.items():
        if isinstance(value, Mapping):
            keys.extend(_flatten(value, f"{prefix}{key}."))
        else:
            keys.append(f"{prefix}{key}")
    return keys


def env_layer(environ: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """``LSTARB_NATS__URL=...`` -> ``{"nats": {"url": ...}}``; keys lower-cased."""
    doc: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for var, value in sorted(environ.items()):
        if not var.startswith(ENV_PREFIX) or var == "LSTARB_CONFIG":
            continue
        path = [part.lower() for part in var[len(ENV_PREFIX) :].split("__") if part]
        if not path:
            continue
        _set_path(doc, path, value)
        origins[".".join(path)] = f"environment {var}"
    return doc, origins


def load_config(
    path: Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> LoadedConfig:
    """Merge file < environment < flags and validate the runtime's sections.

    ``overrides`` maps dotted keys (``"run.role"``) to flag values; None
    values are flags that were not given and are skipped.
    """
    environ = os.environ if environ is None else environ
    doc: dict[str, Any] = {}
    sources: dict[str, str] = {}
    if path is None and environ.get("LSTARB_CONFIG"):
        path = Path(environ["LSTARB_CONFIG"])
    if path is not None:
        try:
            text = path.read_text()
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
        try:
            file_doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
        _merge(doc, file_doc, f"file {path}", sources)
    env_doc, env_origins = env_layer(environ)
    _merge(doc, env_doc, "environment", sources)
    sources.update(env_origins)
    flag_doc: dict[str, Any] = {}
    for dotted, value in (overrides or {}).items():
        if value is not None:
            _set_path(flag_doc, dotted.split("."), value)
    _merge(doc, flag_doc, "command line", sources)
    try:
        settings = Settings.model_validate(doc)
    except ValidationError as exc:
        raise _config_error(exc, "", sources) from None
    return LoadedConfig(settings, sources)


def _config_error(exc: ValidationError, prefix: str, sources: Mapping[str, str]) -> ConfigError:
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"])
        dotted = f"{prefix}.{key}" if prefix and key else (prefix or key)
        origin = sources.get(dotted)
        where = f" (from {origin})" if origin else ""
        message = mask_urls(err["msg"])
        if err["type"] == "extra_forbidden":
            message = "unknown key"
        if "input" in err and err["type"] != "extra_forbidden" and not _is_secret_key(dotted):
            message += f", got {mask_urls(repr(err['input']))}"
        lines.append(f"config key '{dotted}'{where}: {message}")
    return ConfigError("invalid configuration:\n  " + "\n  ".join(lines))


_SECRET_KEY = re.compile(
    r"(secret|password|passphrase|passwd|token|api[-_]?key|private[-_]?key|credential|auth)s?$"
    r"|^auth",
    re.I,
)
"""A key whose value is a secret: one ending in such a word (``api_token``, ``password``, a
header such as ``x-api-key`` or ``x-jito-auth``) or starting with ``auth`` (``auth_uuid``);
not ``token_accounts``, a list of mints."""


def _is_secret_key(dotted: str) -> bool:
    return bool(_SECRET_KEY.search(dotted.rsplit(".", 1)[-1]))


MASK = "********"


def masked(value: Any, key: str = "") -> Any:
    """A JSON-able copy with secrets replaced by a mask: SecretStr, secret-looking keys, and
    the secret parts of URLs (credentials, API keys in path or query: lstarb_sdk.redact)."""
    if isinstance(value, SecretStr):
        return MASK
    if isinstance(value, BaseModel):
        value = {k: getattr(value, k) for k in type(value).model_fields}
    if isinstance(value, Mapping):
        return {
            str(k): (MASK if _is_secret_key(str(k)) and v is not None else masked(v, str(k)))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [masked(v, key) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, str):
        return mask_urls(value)  # node URLs carry API keys in their path or query
    return value
