"""Discovery, selection, vetting and isolation of plugins."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import importlib_metadata
import pytest

from lstarb_runtime.plugin_host import PluginHost, UnknownPluginError
from lstarb_sdk import hookimpl
from lstarb_sdk.errors import PluginError
from lstarb_sdk.version import SDK_API_VERSION


@pytest.fixture
def plugin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory on sys.path where tests write plugin modules."""
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith("lstarbtest_")]:
        del sys.modules[name]


def _module(directory: Path, name: str, body: str) -> importlib_metadata.EntryPoint:
    (directory / f"{name}.py").write_text(textwrap.dedent(body))
    return importlib_metadata.EntryPoint(
        name=name.removeprefix("lstarbtest_"), value=name, group="lstarb"
    )


GOOD = """
    from lstarb_sdk import hookimpl
    LSTARB_SDK_API = "1.0"

    @hookimpl
    def lstarb_on_opportunity(opportunity):
        seen.append(opportunity)

    seen = []
"""


def test_discovers_installed_entry_points() -> None:
    host = PluginHost()
    host.discover()
    # Built-ins are registered through entry points exactly like third-party plugins.
    assert host.records["replay"].builtin and host.records["replay"].loaded
    assert host.records["paper"].distribution == "lstarb"
    assert "lstarb_data_sources" in host.records["replay"].hooks
    # The template plugin in examples/ is installed in the dev environment and found.
    example = host.records["example"]
    assert example.loaded and example.distribution == "lstarb-plugin-example"
    assert example.version == "0.1.0"
    assert "lstarb_register_commands" in example.hooks


def test_import_failure_is_reported_and_others_load(plugin_dir: Path) -> None:
    good = _module(plugin_dir, "lstarbtest_good", GOOD)
    bad = _module(plugin_dir, "lstarbtest_bad", "import does_not_exist_anywhere\n")
    host = PluginHost()
    host.discover([good, bad])
    assert host.records["good"].loaded
    error = host.records["bad"].error or ""
    assert "lstarbtest_bad" in error and "does_not_exist_anywhere" in error
    assert host.failures() == {"bad": error}
    with pytest.raises(PluginError, match="does_not_exist_anywhere"):
        host.select(["good", "bad"])


def test_incompatible_sdk_major_is_refused(plugin_dir: Path) -> None:
    future = _module(plugin_dir, "lstarbtest_future", 'LSTARB_SDK_API = "2.0"\n')
    newer_minor = _module(plugin_dir, "lstarbtest_newer", 'LSTARB_SDK_API = "1.99"\n')
    silent = _module(plugin_dir, "lstarbtest_silent", "x = 1\n")
    host = PluginHost()
    host.discover([future, newer_minor, silent])
    assert "'future' was built for SDK API 2.0" in (host.records["future"].error or "")
    error = host.records["future"].error or ""
    assert f"this runtime provides SDK API {SDK_API_VERSION}" in error
    assert "built for SDK API 1.99" in (host.records["newer"].error or "")
    assert "does not declare LSTARB_SDK_API" in (host.records["silent"].error or "")
    assert host.active() == []


def test_select_unknown_lists_installed(plugin_dir: Path) -> None:
    host = PluginHost()
    host.discover([_module(plugin_dir, "lstarbtest_good", GOOD)])
    with pytest.raises(UnknownPluginError) as info:
        host.select(["good", "nope"])
    assert "unknown plugin: nope" in str(info.value)
    assert "installed: good" in str(info.value)


def test_select_keeps_builtins_and_drops_unselected(plugin_dir: Path) -> None:
    host = PluginHost()
    host.discover()
    host.discover([_module(plugin_dir, "lstarbtest_good", GOOD)])
    active = host.select(["good"])
    assert "good" in active and "replay" in active and "paper" in active
    assert "example" not in host.active()


def test_raising_hook_is_isolated_counted_and_named(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[str] = []

    class Broken:
        LSTARB_SDK_API = "1.0"

        @hookimpl
        def lstarb_on_opportunity(self, opportunity: object) -> None:
            raise RuntimeError("boom")

    class Fine:
        LSTARB_SDK_API = "1.0"

        @hookimpl
        def lstarb_on_opportunity(self, opportunity: object) -> None:
            calls.append("fine")

    host = PluginHost()
    host.register_object("broken", Broken())
    host.register_object("fine", Fine())
    assert host.call_each("lstarb_on_opportunity", opportunity=object()) == []  # None: no result
    assert calls == ["fine"]
    assert host.hook_errors["broken"] == 1
    assert "plugin broken raised in lstarb_on_opportunity" in caplog.text
    # Twice more: counted each time, never fatal.
    host.call_each("lstarb_on_opportunity", opportunity=object())
    assert host.hook_errors["broken"] == 2 and calls == ["fine", "fine"]


def test_startup_failure_is_fatal_and_named() -> None:
    class FailsAtStart:
        LSTARB_SDK_API = "1.0"

        @hookimpl
        def lstarb_startup(self, context: object) -> None:
            raise ValueError("missing RPC url")

    host = PluginHost()
    host.register_object("fragile", FailsAtStart())
    with pytest.raises(PluginError, match="plugin 'fragile' failed in lstarb_startup: ValueError"):
        host.call_strict("lstarb_startup", context=object())


def test_collect_drops_invalid_items() -> None:
    class Odd:
        LSTARB_SDK_API = "1.0"

        @hookimpl
        def lstarb_dex_adapters(self) -> object:
            return [int, "not a class"]

    host = PluginHost()
    host.register_object("odd", Odd())
    got = host.collect("lstarb_dex_adapters", lambda item: None if item is int else "bad")
    assert got == [("odd", int)]
    assert host.hook_errors["odd"] == 1


def test_unknown_hook_name_is_rejected() -> None:
    class Typo:
        LSTARB_SDK_API = "1.0"

        @hookimpl
        def lstarb_dex_adaptors(self) -> list[object]:  # misspelled hook
            return []

    host = PluginHost()
    record = host.register_object("typo", Typo())
    assert record.error is not None and "lstarb_dex_adaptors" in record.error


class _Adapters:
    """A plugin whose lstarb_dex_adapters returns its name, with pluggy hook options."""

    LSTARB_SDK_API = "1.1"

    def __init__(self, name: str, **options: bool) -> None:
        self.name = name

        @hookimpl(**options)
        def lstarb_dex_adapters() -> list[str]:
            return [name]

        self.lstarb_dex_adapters = lstarb_dex_adapters


def test_tryfirst_and_trylast_order_the_calls() -> None:
    host = PluginHost()
    host.register_object("last", _Adapters("last", trylast=True))
    host.register_object("first", _Adapters("first", tryfirst=True))
    host.register_object("middle", _Adapters("middle"))
    got = host.collect("lstarb_dex_adapters", lambda item: None)
    assert got == [("first", "first"), ("middle", "middle"), ("last", "last")]


def test_a_wrapper_wraps_the_call_and_may_change_the_result() -> None:
    seen: list[object] = []

    class Wrapper:
        LSTARB_SDK_API = "1.1"

        @hookimpl(wrapper=True)
        def lstarb_dex_adapters(self):  # type: ignore[no-untyped-def]
            results = yield
            seen.append(list(results))
            return [r for r in results if r != ["drop"]]

    host = PluginHost()
    host.register_object("keep", _Adapters("keep"))
    host.register_object("drop", _Adapters("drop"))
    host.register_object("wrapper", Wrapper())
    got = host.call_each("lstarb_dex_adapters")
    assert sorted(map(str, seen[0])) == ["['drop']", "['keep']"]
    assert got == [("keep", ["keep"])]


@pytest.mark.parametrize("where", ["before", "after"])
def test_a_raising_wrapper_is_passed_over_and_counted(
    where: str, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        LSTARB_SDK_API = "1.1"

        @hookimpl(wrapper=True)
        def lstarb_dex_adapters(self):  # type: ignore[no-untyped-def]
            if where == "before":
                raise RuntimeError("wrapper bug before")
            yield
            raise RuntimeError("wrapper bug after")

    class OldStyle:
        LSTARB_SDK_API = "1.1"
        outcomes: list[object] = []

        @hookimpl(hookwrapper=True)
        def lstarb_dex_adapters(self):  # type: ignore[no-untyped-def]
            outcome = yield
            self.outcomes.append(outcome.get_result())

    host = PluginHost()
    host.register_object("a", _Adapters("a"))
    host.register_object("broken", Broken())
    host.register_object("old", OldStyle())
    assert host.call_each("lstarb_dex_adapters") == [("a", ["a"])]
    assert host.hook_errors["broken"] == 1
    assert f"wrapper bug {where}" in caplog.text
    assert OldStyle.outcomes == [[["a"]]]


def test_a_raising_implementation_leaves_the_others_and_the_wrappers_running() -> None:
    seen: list[object] = []

    class Wrapper:
        LSTARB_SDK_API = "1.1"

        @hookimpl(wrapper=True)
        def lstarb_dex_adapters(self):  # type: ignore[no-untyped-def]
            results = yield
            seen.append(results)
            return results

    class Raises:
        LSTARB_SDK_API = "1.1"

        @hookimpl(tryfirst=True)
        def lstarb_dex_adapters(self) -> list[str]:
            raise ValueError("adapter list bug")

    host = PluginHost()
    host.register_object("ok", _Adapters("ok"))
    host.register_object("raises", Raises())
    host.register_object("wrapper", Wrapper())
    assert host.call_each("lstarb_dex_adapters") == [("ok", ["ok"])]
    assert seen == [[["ok"]]] and host.hook_errors["raises"] == 1
    with pytest.raises(PluginError, match="plugin 'raises' failed in lstarb_dex_adapters"):
        host.call_strict("lstarb_dex_adapters")


def test_an_opt_in_plugin_runs_only_when_named(plugin_dir: Path) -> None:
    opt_in = GOOD + "\n    LSTARB_OPT_IN = True\n"
    eps = [
        _module(plugin_dir, "lstarbtest_good", GOOD),
        _module(plugin_dir, "lstarbtest_demo", opt_in),
    ]
    host = PluginHost()
    host.discover(eps)
    assert host.records["demo"].opt_in and not host.records["good"].opt_in
    assert host.select(None) == ["good"]  # the default leaves it out ...
    assert "demo" not in host.active()
    named = PluginHost()
    named.discover(eps)
    assert named.select(["good", "demo"]) == ["demo", "good"]  # ... naming it uses it
    assert "demo" in named.active()
