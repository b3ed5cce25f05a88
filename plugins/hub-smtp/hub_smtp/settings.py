"""Settings of the SMTP provider: ``[email.smtp]`` / ``HUB_EMAIL__SMTP__*``.

``SMTP_HOST``, ``SMTP_PORT``, ``SMTP_USERNAME`` and ``SMTP_PASSWORD`` are read too, at lower
priority (see the ProviderSpec's ``env_vars``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator

from hub.settings import ProviderSettings

__all__ = ["DEFAULT_PORTS", "SmtpSettings"]

#: The port of each security mode when none is set (RFC 8314 for implicit TLS).
DEFAULT_PORTS = {"none": 25, "starttls": 587, "tls": 465}


class SmtpSettings(ProviderSettings):
    """Where the SMTP server is, how to secure the connection and how to log in."""

    host: str = Field("localhost", min_length=1, description="the SMTP server's host name or IP")
    port: int | None = Field(
        None, ge=1, le=65535, description="default: 25 (none), 587 (starttls), 465 (tls)"
    )
    security: Literal["none", "starttls", "tls"] = Field(
        "starttls",
        description="none (plain text), starttls (upgrade after connecting) or tls (implicit)",
    )
    username: str | None = Field(None, description="AUTH user; no AUTH when unset")
    password: SecretStr | None = Field(None, description="AUTH password")
    timeout: float = Field(30.0, gt=0, description="seconds for connecting and for each reply")
    validate_certs: bool = Field(True, description="verify the server's TLS certificate")
    ca_file: Path | None = Field(
        None, description="PEM bundle of CAs to trust instead of the system's (private CAs)"
    )
    local_hostname: str | None = Field(
        None, description="name sent in EHLO (default: this machine's FQDN)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (self.username is None) != (self.password is None):
            raise ValueError("set both username and password for AUTH, or neither")
        return self

    @property
    def effective_port(self) -> int:
        return self.port if self.port is not None else DEFAULT_PORTS[self.security]
