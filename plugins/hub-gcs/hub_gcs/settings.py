"""Settings of the ``gcs`` storage provider: ``[storage.gcs]`` / ``HUB_STORAGE__GCS__*`` and
``GOOGLE_APPLICATION_CREDENTIALS``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, model_validator

from hub.settings import ProviderSettings
from hub_gcs.credentials import ServiceAccount

__all__ = ["CHUNK_GRANULARITY", "GcsSettings"]

MIB = 1024 * 1024
#: Resumable upload chunks must be multiples of 256 KiB (except the last).
CHUNK_GRANULARITY = 256 * 1024
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$")


class GcsSettings(ProviderSettings):
    """One bucket, reached with a service account's key."""

    bucket: str = Field(..., description="the bucket every key lives in")
    credentials: SecretStr | None = Field(
        None, description="the service account key file's JSON content"
    )
    credentials_file: Path | None = Field(
        None, description="path of the service account key file (GOOGLE_APPLICATION_CREDENTIALS)"
    )
    chunk_size: int = Field(
        8 * MIB,
        ge=CHUNK_GRANULARITY,
        description="bytes per resumable-upload chunk (a multiple of 256 KiB); smaller "
        "uploads are one multipart request",
    )
    list_page_size: int = Field(1000, ge=1, le=1000, description="maxResults per objects.list")
    base_url: str = Field(
        "https://storage.googleapis.com", description="the JSON API root (an emulator's, in tests)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> GcsSettings:
        if not _BUCKET.match(self.bucket):
            raise ValueError(
                f"bucket {self.bucket!r} is not a bucket name: 3-222 lower-case letters, "
                "digits, dots, hyphens and underscores"
            )
        if self.chunk_size % CHUNK_GRANULARITY:
            raise ValueError(
                f"chunk_size must be a multiple of 256 KiB ({CHUNK_GRANULARITY} bytes), e.g. "
                f"{8 * MIB}"
            )
        if (self.credentials is None) == (self.credentials_file is None):
            raise ValueError(
                "set exactly one of credentials (the key file's JSON) and credentials_file "
                "(or GOOGLE_APPLICATION_CREDENTIALS)"
            )
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        self.service_account()  # fail at startup, not on the first upload
        return self

    def _info(self) -> dict[str, Any]:
        if self.credentials is not None:
            text, where = self.credentials.get_secret_value(), "credentials"
        else:
            assert self.credentials_file is not None
            try:
                text = self.credentials_file.read_text("utf-8")
            except OSError as exc:
                raise ValueError(
                    f"cannot read credentials_file {str(self.credentials_file)!r}: {exc.strerror}"
                ) from None
            where = "credentials_file"
        try:
            info = json.loads(text)
        except ValueError:
            raise ValueError(f"{where} is not JSON: use the service account key file") from None
        if not isinstance(info, dict):
            raise ValueError(f"{where} is not a service account key (a JSON object)")
        return info

    def service_account(self) -> ServiceAccount:
        return ServiceAccount.from_info(self._info())

    def secrets(self) -> list[str]:
        """Values to redact: the key file and its private key."""
        info = self._info()
        found = [str(info.get("private_key") or "")]
        if self.credentials is not None:
            found.append(self.credentials.get_secret_value())
        return [s for s in found if s]
