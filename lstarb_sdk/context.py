"""What the runtime hands to plugin hooks that build components.

Plugins get their own validated settings and a logger from here, never the
runtime itself (and never a keypair).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict


class PluginConfig(BaseModel):
    """Base class for a plugin's settings model (``lstarb_config_model``).

    Unknown keys are errors, so a typo in a TOML file is reported rather than
    silently ignored. Use ``pydantic.SecretStr`` for secrets: ``lstarb config
    show`` and logs mask them.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class PluginContext:
    """Run-wide facts and each plugin's settings.

    ``paper`` is True unless the run was started with ``--live``: money-moving
    plugins must not send anything when it is set. ``role`` is the service
    being started (``all``, ``scanner``, ``planner``, ``executor``, ...).
    """

    paper: bool = True
    role: str = "all"
    plugin_configs: Mapping[str, BaseModel] = field(default_factory=dict)
    settings: Mapping[str, object] = field(default_factory=dict)

    def config(self, plugin: str) -> BaseModel | None:
        """The validated settings of ``plugin`` (None if it declares none)."""
        return self.plugin_configs.get(plugin)

    def logger(self, plugin: str) -> logging.Logger:
        """The logger a plugin should use, so its records carry its name."""
        return logging.getLogger(f"lstarb.plugin.{plugin}")
