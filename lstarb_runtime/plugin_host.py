"""Discovering, vetting, selecting and calling plugins.

Hooks are called through pluggy, so its hook options hold as plugin authors read them in
pluggy's documentation: ``tryfirst`` / ``trylast`` order the calls, ``wrapper=True`` (and
old-style ``hookwrapper=True``) implementations wrap the others and may change the result.

pluggy stops a call at the first exception, which would let one broken plugin silence the
others. The host therefore guards each implementation when it registers a plugin: an
implementation that raises is logged with its plugin's name, counted, and left out of that
call's results (a wrapper that raises is passed over, the call goes on without it); only
start-up hooks of selected plugins (:meth:`PluginHost.call_strict`) stop a run.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Generator, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import importlib_metadata
import pluggy

from lstarb_runtime import metrics
from lstarb_sdk import ENTRY_POINT_GROUP, hookspecs
from lstarb_sdk.errors import PluginError
from lstarb_sdk.version import SDK_API_VERSION, api_compatible

log = logging.getLogger("lstarb.plugins")

SDK_API_ATTRIBUTE = "LSTARB_SDK_API"
OPT_IN_ATTRIBUTE = "LSTARB_OPT_IN"
"""A plugin module setting this True is used only when named in ``--plugins`` (the template)."""

_STRICT: ContextVar[bool] = ContextVar("lstarb_hook_strict", default=False)
"""Inside :meth:`PluginHost.call_strict`: a raising implementation stops the call."""
_OWNERS: ContextVar[dict[int, str] | None] = ContextVar("lstarb_hook_owners", default=None)
"""Inside a call: which plugin returned each result (by object id)."""


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
    opt_in: bool = False
    """Left out of the default selection (no ``--plugins``): used only when named."""

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
        record.opt_in = getattr(obj, OPT_IN_ATTRIBUTE, False) is True
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
        for caller in callers:
            for impl in caller.get_hookimpls():
                if impl.plugin is obj:
                    self._guard(impl, caller.name)

    # ----------------------------------------------------------- fault isolation
    def _failed(self, plugin: str, hook_name: str, exc: Exception) -> None:
        self.hook_errors[plugin] += 1
        metrics.PLUGIN_ERRORS.labels(plugin=plugin, hook=hook_name).inc()
        if _STRICT.get():
            raise PluginError(
                f"plugin {plugin!r} failed in {hook_name}: {type(exc).__name__}: {exc}"
            ) from exc
        log.error("plugin %s raised in %s", plugin, hook_name, exc_info=exc)

    def _guard(self, impl: pluggy.HookImpl, hook_name: str) -> None:
        """Replace the implementation with one that reports its failures instead of raising."""
        function, plugin = impl.function, impl.plugin_name
        if impl.wrapper or impl.hookwrapper:
            guarded: Callable[..., Any] = self._guard_wrapper(function, plugin, hook_name)
        else:

            def guarded(*args: Any, **kwargs: Any) -> Any:
                try:
                    result = function(*args, **kwargs)
                except Exception as exc:
                    self._failed(plugin, hook_name, exc)
                    return None  # pluggy leaves None out of the results
                owners = _OWNERS.get()
                if owners is not None and result is not None:
                    owners[id(result)] = plugin
                return result

        setattr(impl, "function", guarded)  # noqa: B010 (pluggy types it Final)

    def _guard_wrapper(
        self, function: Callable[..., Any], plugin: str, hook_name: str
    ) -> Callable[..., Generator[Any, Any, Any]]:
        """A wrapper that raises is passed over: the call goes on as if it were not there.

        Speaks both wrapper protocols: new-style (sent the result, returns the result) and
        old-style (sent a ``Result``, its return value ignored by pluggy).
        """

        def guarded(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
            try:
                inner = function(*args, **kwargs)
                next(inner)
            except Exception as exc:  # failed before its yield (or never yielded)
                self._failed(plugin, hook_name, exc)
                return (yield)
            try:
                sent = yield
            except BaseException as raised:  # new-style: the call raised; let it see that
                try:
                    inner.throw(raised)
                except StopIteration as stop:
                    return stop.value
                except Exception as exc:
                    if exc is not raised:
                        self._failed(plugin, hook_name, exc)
                raise
            try:
                inner.send(sent)
            except StopIteration as stop:
                return stop.value
            except Exception as exc:
                self._failed(plugin, hook_name, exc)
                return sent
            self._failed(plugin, hook_name, RuntimeError("wrapper yielded twice"))
            return sent

        return guarded

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
        ``None`` selects every plugin that loaded, except opt-in ones (``LSTARB_OPT_IN``).
        """
        if names is None:
            names = [n for n, r in sorted(self.records.items()) if r.loaded and not r.opt_in]
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
    def _call(self, hook_name: str, kwargs: dict[str, Any]) -> list[tuple[str, Any]]:
        owners: dict[int, str] = {}
        token = _OWNERS.set(owners)
        try:
            results = getattr(self.pm.hook, hook_name)(**kwargs)
        finally:
            _OWNERS.reset(token)
        # a result a wrapper put in the list is not any one plugin's own
        return [(owners.get(id(result), "(a wrapper)"), result) for result in results]

    def call_each(self, hook_name: str, /, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call one hook on every active plugin, in pluggy's order, isolating failures.

        Returns ``(plugin_name, result)`` for each implementation that returned a value
        other than None; one that raised is logged with the plugin's name and counted in
        ``hook_errors``.
        """
        return self._call(hook_name, kwargs)

    def call_strict(self, hook_name: str, /, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call a hook where a failure must stop the run (start-up): PluginError naming it."""
        token = _STRICT.set(True)
        try:
            return self._call(hook_name, kwargs)
        finally:
            _STRICT.reset(token)

    def collect(
        self, hook_name: str, check: Callable[[Any], str | None], /, **kwargs: Any
    ) -> list[tuple[str, Any]]:
        """Flatten list-returning hooks, dropping (and logging) invalid items.

        ``check`` returns None for a good item or a reason for a bad one.
        """
        items: list[tuple[str, Any]] = []
        for plugin, result in self.call_each(hook_name, **kwargs):
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
