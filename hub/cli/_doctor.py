"""What ``hub doctor`` checks, as data (so tests and the CLI share it)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from hub.errors import HubError


@dataclass
class CapabilityRow:
    capability: str
    providers: list[str]
    settings: str
    ok: bool
    note: str = ""


@dataclass
class DoctorReport:
    env: str
    rows: list[CapabilityRow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def diagnose() -> DoctorReport:
    """Load settings and build every capability's provider chain, collecting each problem."""
    from hub.core import Hub
    from hub.plugins import default_registry
    from hub.settings import HubSettings

    registry = default_registry()
    try:
        settings = HubSettings.load()
    except HubError as exc:
        report = DoctorReport(env="?")
        report.problems.append(str(exc))
        return report
    report = DoctorReport(env=settings.env.value)
    for record in registry.plugins:
        if record.status == "error":
            report.warnings.append(
                f"plugin {record.name!r} ({record.distribution} {record.version}) failed to load: "
                f"{record.error}. Hubs configured to use it will fail; reinstall or remove it."
            )
    hub = Hub(settings, registry=registry)
    for capability in sorted(registry.capabilities):
        section = settings.capability(capability)
        chain = section.chain(settings.env)
        if not chain:
            # Not every app uses every capability: unconfigured is worth knowing, not a failure.
            installed = ", ".join(registry.provider_names(capability))
            report.warnings.append(
                f"{capability}: not configured for HUB_ENV={settings.env.value} (calls would "
                f"fail); set HUB_{capability.upper()}__PROVIDER to one of: {installed}"
            )
            report.rows.append(CapabilityRow(capability, [], "", True, "not configured"))
            continue
        masked: dict[str, object] = {}
        try:
            for name in chain:
                spec = registry.provider(capability, name)
                model = hub.provider_settings(spec, section.provider_section(name))
                masked[name] = model.model_dump(
                    mode="json", exclude={"resilience", "http"}, exclude_none=True
                )
            hub.service(capability)
            ok = True
        except HubError as exc:
            report.problems.append(f"{capability}: {exc}")
            ok = False
        report.rows.append(
            CapabilityRow(capability, chain, json.dumps(masked, default=str) if masked else "", ok)
        )
    import anyio

    anyio.run(hub.aclose)
    return report
