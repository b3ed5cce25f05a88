"""Plugins: hook specifications, entry-point discovery and the registry of providers.

A plugin is a module named by an entry point in the ``hub.plugins`` group. It declares
``hub_plugin_api = 1`` and implements pluggy hooks that *only declare* (no I/O, no vendor
imports): :func:`hub_providers` returns :class:`ProviderSpec` objects whose factory is a
``"module:attr"`` string, so a vendor's client is imported only when a hub is configured to
use it.

Each entry point is loaded on its own (never ``load_setuptools_entrypoints``, which stops at
the first broken plugin); a plugin that fails to import, declares another API version or
returns invalid specs is recorded with its error and breaks only a hub configured to use it.
"""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from types import ModuleType
from typing import Any, Literal

import pluggy

from hub.errors import ConfigurationError, PluginError

__all__ = [
    "PLUGIN_API_VERSION",
    "CapabilitySpec",
    "PluginRecord",
    "ProviderSpec",
    "Registry",
    "default_registry",
    "hookimpl",
    "import_string",
]

#: The plugin API this hub speaks. A plugin declares the one it was written for.
PLUGIN_API_VERSION = 1
ENTRY_POINT_GROUP = "hub.plugins"
BUILTIN_PLUGINS = ("hub.capabilities.builtin", "hub.providers.local", "hub.providers.fake")

hookspec = pluggy.HookspecMarker("hub")
hookimpl = pluggy.HookimplMarker("hub")

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_TARGET = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """What a plugin declares about one provider; nothing here imports the vendor's client."""

    capability: str
    name: str
    #: ``"module:attr"`` of ``factory(settings, context) -> provider``.
    factory: str
    #: ``"module:attr"`` of the pydantic model validating this provider's settings section.
    settings_model: str | None = None
    #: Optional features the provider supports (see each capability's ``FEATURES``).
    features: frozenset[str] = frozenset()
    #: Settings field -> the vendor's conventional environment variable (``SENDGRID_API_KEY``).
    env_vars: Mapping[str, str] = field(default_factory=dict)
    #: ``"module:attr"`` of ``handler(settings, context) -> WebhookHandler``, if any.
    webhook: str | None = None
    #: Normalized event types the webhook handler emits.
    webhook_events: tuple[str, ...] = ()
    description: str = ""
    docs_url: str = ""


@dataclass(frozen=True, slots=True)
class CapabilitySpec:
    """A capability (email, sms, ...): its service facade and its settings section model."""

    name: str
    #: ``"module:attr"`` of the Service class.
    service: str
    #: ``"module:attr"`` of the capability's settings model.
    settings_model: str
    #: Every optional feature a provider of this capability may declare.
    features: frozenset[str] = frozenset()
    description: str = ""


@dataclass(slots=True)
class PluginRecord:
    """The outcome of loading one plugin, as `hub plugins` and `hub doctor` show it."""

    name: str
    module: str
    distribution: str
    version: str
    status: Literal["ok", "error"] = "ok"
    error: str | None = None
    providers: list[tuple[str, str]] = field(default_factory=list)
    capabilities: list[str] = field(default_factory=list)
    builtin: bool = False


class HubSpecs:
    """The hooks a plugin may implement. Both are synchronous and only declare."""

    @hookspec
    def hub_providers(self) -> Sequence[ProviderSpec]:  # type: ignore[empty-body]
        """Return the providers this plugin offers."""

    @hookspec
    def hub_capabilities(self) -> Sequence[CapabilitySpec]:  # type: ignore[empty-body]
        """Return capabilities this plugin adds to the hub."""


def import_string(target: str) -> Any:
    """Import ``"package.module:attr"`` (attr may be dotted) and return the attribute."""
    module_name, _, attr = target.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise PluginError(f"cannot import {target!r}: {exc}") from exc
    return obj


@dataclass(slots=True)
class Registry:
    """Everything discovered: capabilities, providers and one record per plugin."""

    capabilities: dict[str, CapabilitySpec] = field(default_factory=dict)
    providers: dict[tuple[str, str], ProviderSpec] = field(default_factory=dict)
    plugins: list[PluginRecord] = field(default_factory=list)

    def provider_names(self, capability: str) -> list[str]:
        return sorted(name for cap, name in self.providers if cap == capability)

    def capability(self, name: str) -> CapabilitySpec:
        try:
            return self.capabilities[name]
        except KeyError:
            known = ", ".join(sorted(self.capabilities)) or "none"
            raise ConfigurationError(
                f"unknown capability {name!r}; installed capabilities: {known}"
            ) from None

    def provider(self, capability: str, name: str) -> ProviderSpec:
        """The spec of a configured provider, or an error that says what is installed."""
        spec = self.providers.get((capability, name))
        if spec is not None:
            return spec
        broken = [p for p in self.plugins if p.status == "error" and p.name == name]
        if broken:
            record = broken[0]
            raise PluginError(
                f"{capability} provider {name!r} comes from plugin {record.name!r} "
                f"({record.distribution} {record.version}), which failed to load: {record.error}",
                plugin=record.name,
                distribution=record.distribution,
            )
        installed = ", ".join(self.provider_names(capability)) or "none"
        raise ConfigurationError(
            f"unknown {capability} provider {name!r}; installed {capability} providers: "
            f"{installed}. Install the plugin (e.g. `pip install hub-{name}`) or fix the name."
        )

    def webhook_provider(self, name: str) -> ProviderSpec | None:
        """The first provider called ``name`` that declares a webhook handler."""
        for (_, provider_name), spec in self.providers.items():
            if provider_name == name and spec.webhook:
                return spec
        return None


def _dist_of(ep: EntryPoint) -> tuple[str, str]:
    dist = ep.dist
    if dist is None:
        return "unknown", "unknown"
    return dist.metadata["Name"] or "unknown", dist.version or "unknown"


class _Loader:
    """Registers plugin modules one by one and collects their specs, isolating failures."""

    def __init__(self) -> None:
        self.manager = pluggy.PluginManager("hub")
        self.manager.add_hookspecs(HubSpecs)
        self.registry = Registry()
        self._records: dict[str, PluginRecord] = {}

    def add(self, record: PluginRecord, load: Any) -> None:
        self.registry.plugins.append(record)
        try:
            module = load()
            _check_api_version(module, record)
            self.manager.register(module, name=record.name)
        except Exception as exc:  # a broken plugin is recorded, never fatal
            record.status, record.error = "error", _describe(exc)
            return
        self._records[record.name] = record

    def collect(self) -> Registry:
        for impl in self.manager.hook.hub_capabilities.get_hookimpls():
            record = self._records[impl.plugin_name]
            for spec in self._call(impl, record):
                if not isinstance(spec, CapabilitySpec) or not _NAME.match(spec.name):
                    self._fail(record, f"invalid capability spec {spec!r}")
                elif spec.name in self.registry.capabilities:
                    self._fail(record, f"capability {spec.name!r} is already registered")
                else:
                    self.registry.capabilities[spec.name] = spec
                    record.capabilities.append(spec.name)
        for impl in self.manager.hook.hub_providers.get_hookimpls():
            record = self._records[impl.plugin_name]
            for spec in self._call(impl, record):
                problem = _validate_provider(spec, self.registry)
                if problem is None:
                    self.registry.providers[(spec.capability, spec.name)] = spec
                    record.providers.append((spec.capability, spec.name))
                else:
                    self._fail(record, problem)
        return self.registry

    def _call(self, impl: Any, record: PluginRecord) -> Sequence[Any]:
        if record.status == "error":
            return ()
        try:
            result = impl.function()
            return list(result or ())
        except Exception as exc:
            self._fail(record, _describe(exc))
            return ()

    @staticmethod
    def _fail(record: PluginRecord, message: str) -> None:
        record.status = "error"
        record.error = message if record.error is None else f"{record.error}; {message}"


def _check_api_version(module: ModuleType, record: PluginRecord) -> None:
    declared = getattr(module, "hub_plugin_api", None)
    if declared != PLUGIN_API_VERSION:
        raise PluginError(
            f"plugin {record.name!r} declares hub_plugin_api={declared!r}, but this hub speaks "
            f"plugin API {PLUGIN_API_VERSION}; upgrade the plugin or the hub",
            plugin=record.name,
            distribution=record.distribution,
        )


def _validate_provider(spec: Any, registry: Registry) -> str | None:
    if not isinstance(spec, ProviderSpec):
        return f"hub_providers returned {type(spec).__name__}, not ProviderSpec"
    if spec.capability not in registry.capabilities:
        return f"provider {spec.name!r} is for unknown capability {spec.capability!r}"
    if not _NAME.match(spec.name):
        return f"provider name {spec.name!r} must be lower-case letters, digits and underscores"
    for target in (spec.factory, spec.settings_model, spec.webhook):
        if target is not None and not _TARGET.match(target):
            return f"provider {spec.name!r}: {target!r} is not a 'module:attr' string"
    unknown = spec.features - registry.capabilities[spec.capability].features
    if unknown:
        return f"provider {spec.name!r} declares unknown features {sorted(unknown)}"
    if (spec.capability, spec.name) in registry.providers:
        return f"{spec.capability} provider {spec.name!r} is already registered by another plugin"
    return None


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def discover(
    extra: Iterable[EntryPoint] | None = None, *, include_installed: bool = True
) -> Registry:
    """Load the built-in plugins and every ``hub.plugins`` entry point, each on its own."""
    loader = _Loader()
    for module_name in BUILTIN_PLUGINS:
        record = PluginRecord(
            name=module_name.rsplit(".", 1)[-1],
            module=module_name,
            distribution="integration-hub",
            version=_own_version(),
            builtin=True,
        )
        loader.add(record, lambda m=module_name: importlib.import_module(m))
    found: list[EntryPoint] = (
        list(entry_points(group=ENTRY_POINT_GROUP)) if include_installed else []
    )
    found.extend(extra or ())
    for ep in sorted(found, key=lambda e: e.name):
        if ep.value in BUILTIN_PLUGINS:
            continue
        distribution, version = _dist_of(ep)
        record = PluginRecord(ep.name, ep.value, distribution, version)
        loader.add(record, ep.load)
    return loader.collect()


def _own_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("integration-hub")
    except PackageNotFoundError:
        return "0+unknown"


_lock = threading.Lock()
_default: Registry | None = None


def default_registry(*, refresh: bool = False) -> Registry:
    """The registry discovered once per process (``refresh=True`` after installing a plugin)."""
    global _default
    with _lock:
        if _default is None or refresh:
            _default = discover()
        return _default
