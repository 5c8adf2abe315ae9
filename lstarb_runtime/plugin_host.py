"""Discovering, vetting, selecting and calling plugins.

pluggy runs every implementation of a hook in one call and stops at the
first exception, which would let one broken plugin silence the others. The
host therefore calls each plugin's implementation on its own, logs a failure
with the plugin's name, counts it, and goes on: only start-up hooks of
selected plugins are allowed to stop a run.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import importlib_metadata
import pluggy

from lstarb_sdk import ENTRY_POINT_GROUP, hookspecs
from lstarb_sdk.errors import PluginError
from lstarb_sdk.version import SDK_API_VERSION, api_compatible

log = logging.getLogger("lstarb.plugins")

SDK_API_ATTRIBUTE = "LSTARB_SDK_API"


@dataclass
class PluginRecord:
    """What the host knows about one installed plugin, loaded or not."""

    name: str
    module: str
    distribution: str | None = None
    version: str | None = None
    builtin: bool = False
    sdk_api: str | None = None
    hooks: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def loaded(self) -> bool:
        return self.error is None


class PluginHost:
    """A pluggy PluginManager fed from the ``lstarb`` entry points."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self.records: dict[str, PluginRecord] = {}
        self.hook_errors: Counter[str] = Counter()

    # ----------------------------------------------------------- discovery
    def discover(self, entry_points: Iterable[Any] | None = None) -> None:
        """Load every entry point of group ``lstarb``; failures are recorded, not raised."""
        eps = (
            importlib_metadata.entry_points(group=ENTRY_POINT_GROUP)
            if entry_points is None
            else entry_points
        )
        for ep in sorted(eps, key=lambda e: e.name):
            if ep.name in self.records:
                log.warning("plugin name %r is installed twice; keeping the first", ep.name)
                continue
            dist = getattr(ep, "dist", None)
            record = PluginRecord(
                name=ep.name,
                module=ep.value,
                distribution=dist.metadata["Name"] if dist is not None else None,
                version=dist.version if dist is not None else None,
            )
            record.builtin = ep.value.startswith("lstarb_runtime.")
            self.records[ep.name] = record
            try:
                obj = ep.load()
            except Exception as exc:  # any import failure must not stop the others
                record.error = f"failed to import {ep.value}: {type(exc).__name__}: {exc}"
                log.debug("plugin %s: %s", ep.name, record.error)
                continue
            self._register(record, obj)

    def register_object(
        self, name: str, obj: object, *, version: str | None = None
    ) -> PluginRecord:
        """Register an already imported plugin (tests, embedding)."""
        record = PluginRecord(
            name=name, module=getattr(obj, "__name__", repr(obj)), version=version
        )
        self.records[name] = record
        self._register(record, obj)
        return record

    def _register(self, record: PluginRecord, obj: object) -> None:
        api = getattr(obj, SDK_API_ATTRIBUTE, None)
        record.sdk_api = api if isinstance(api, str) else None
        if record.sdk_api is None:
            record.error = (
                f"plugin {record.name!r} does not declare {SDK_API_ATTRIBUTE} "
                f"(the SDK API version it was built for); this runtime provides {SDK_API_VERSION}"
            )
        else:
            try:
                ok = api_compatible(record.sdk_api, SDK_API_VERSION)
            except ValueError as exc:
                record.error = f"plugin {record.name!r}: {exc}"
            else:
                if not ok:
                    record.error = (
                        f"plugin {record.name!r} was built for SDK API {record.sdk_api}, "
                        f"but this runtime provides SDK API {SDK_API_VERSION}"
                    )
        if record.error is not None:
            log.debug("%s", record.error)
            return
        try:
            self.pm.register(obj, name=record.name)
        except Exception as exc:  # pluggy rejects unknown hook names etc.
            record.error = f"plugin {record.name!r} cannot be registered: {exc}"
            log.debug("%s", record.error)
            return
        callers = self.pm.get_hookcallers(obj) or []
        unknown = sorted(c.name for c in callers if not c.has_spec())
        if unknown:
            self.pm.unregister(obj)
            record.error = (
                f"plugin {record.name!r} implements hooks lstarb does not define: "
                f"{', '.join(unknown)}"
            )
            log.debug("%s", record.error)
            return
        record.hooks = sorted(c.name for c in callers)

    # ----------------------------------------------------------- selection
    def failures(self) -> dict[str, str]:
        """Plugins that are installed but not loaded, with the reason."""
        return {n: r.error for n, r in sorted(self.records.items()) if r.error is not None}

    def installed(self) -> list[str]:
        return sorted(self.records)

    def select(self, names: Iterable[str] | None) -> list[str]:
        """Keep built-ins plus the named plugins; unregister the rest.

        Raises PluginError for a name that is not installed (listing those
        that are) or a selected plugin that failed to load (with the reason).
        ``None`` selects every plugin that loaded.
        """
        if names is None:
            return [n for n, r in sorted(self.records.items()) if r.loaded]
        wanted = [n.strip() for n in names if n.strip()]
        unknown = [n for n in wanted if n not in self.records]
        if unknown:
            raise UnknownPluginError(unknown, self.installed())
        broken = [self.records[n] for n in wanted if not self.records[n].loaded]
        if broken:
            raise PluginError("; ".join(r.error or r.name for r in broken))
        keep = set(wanted) | {n for n, r in self.records.items() if r.builtin and r.loaded}
        for name, record in self.records.items():
            if name not in keep and record.loaded and self.pm.get_plugin(name) is not None:
                self.pm.unregister(name=name)
        return sorted(n for n in keep)

    def active(self) -> list[str]:
        return sorted(name for name, _ in self.pm.list_name_plugin() if name)

    # ----------------------------------------------------------- calling
    def _impls(self, hook_name: str) -> Iterator[pluggy.HookImpl]:
        caller = getattr(self.pm.hook, hook_name)
        # pluggy orders implementations last-registered first; report in name order.
        yield from sorted(caller.get_hookimpls(), key=lambda impl: impl.plugin_name)

    def call_each(self, hook_name: str, /, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call one hook on every active plugin, isolating failures.

        Returns ``(plugin_name, result)`` for each plugin whose
        implementation returned without raising; a raise is logged with the
        plugin's name and counted in ``hook_errors``.
        """
        results: list[tuple[str, Any]] = []
        for impl in self._impls(hook_name):
            try:
                result = _invoke(impl, kwargs)
            except Exception:
                self.hook_errors[impl.plugin_name] += 1
                log.exception("plugin %s raised in %s", impl.plugin_name, hook_name)
                continue
            results.append((impl.plugin_name, result))
        return results

    def call_strict(self, hook_name: str, /, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call a hook where a failure must stop the run (start-up)."""
        results: list[tuple[str, Any]] = []
        for impl in self._impls(hook_name):
            try:
                results.append((impl.plugin_name, _invoke(impl, kwargs)))
            except Exception as exc:
                self.hook_errors[impl.plugin_name] += 1
                raise PluginError(
                    f"plugin {impl.plugin_name!r} failed in {hook_name}: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
        return results

    def collect(
        self, hook_name: str, check: Callable[[Any], str | None], /, **kwargs: Any
    ) -> list[tuple[str, Any]]:
        """Flatten list-returning hooks, dropping (and logging) invalid items.

        ``check`` returns None for a good item or a reason for a bad one.
        """
        items: list[tuple[str, Any]] = []
        for plugin, result in self.call_each(hook_name, **kwargs):
            if result is None:
                continue
            if not isinstance(result, list | tuple):
                self.hook_errors[plugin] += 1
                log.error("plugin %s: %s returned %r, not a list", plugin, hook_name, result)
                continue
            for item in result:
                reason = check(item)
                if reason is not None:
                    self.hook_errors[plugin] += 1
                    log.error(
                        "plugin %s: %s returned an invalid item: %s", plugin, hook_name, reason
                    )
                    continue
                items.append((plugin, item))
        return items


class UnknownPluginError(PluginError):
    """A name given to ``--plugins`` that no installed plugin has."""

    def __init__(self, unknown: list[str], installed: list[str]) -> None:
        self.unknown = unknown
        self.installed = installed
        super().__init__(
            f"unknown plugin{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}; "
            f"installed: {', '.join(installed) or '(none)'}"
        )


def _invoke(impl: pluggy.HookImpl, kwargs: dict[str, Any]) -> Any:
    args = [kwargs[name] for name in impl.argnames]
    return impl.function(*args)
