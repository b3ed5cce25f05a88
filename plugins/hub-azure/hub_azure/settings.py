"""Settings of the ``azure`` storage provider: ``[storage.azure]`` / ``HUB_STORAGE__AZURE__*``,
``AZURE_STORAGE_ACCOUNT`` and ``AZURE_STORAGE_KEY``."""

from __future__ import annotations

import re

from pydantic import Field, SecretStr, model_validator

from hub.settings import ProviderSettings
from hub_azure.auth import decode_key

__all__ = ["API_VERSION", "AzureBlobSettings"]

MIB = 1024 * 1024
#: The Blob service REST version every request asks for (x-ms-version, SAS sv).
API_VERSION = "2021-08-06"
# Container names: 3-63 lower-case letters, digits and single hyphens, not at either end.
_CONTAINER = re.compile(r"^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_ACCOUNT = re.compile(r"^[a-z0-9]{3,24}$")


class AzureBlobSettings(ProviderSettings):
    """One container of one storage account, reached with the account's Shared Key."""

    account_name: str | None = Field(
        None, description="the storage account (AZURE_STORAGE_ACCOUNT)"
    )
    account_key: SecretStr | None = Field(
        None, description="key1 or key2 of the account, base64 (AZURE_STORAGE_KEY)"
    )
    container: str = Field(..., description="the container every key lives in")
    endpoint: str | None = Field(
        None,
        description="the Blob endpoint; default https://<account>.blob.core.windows.net "
        "(Azurite: http://127.0.0.1:10000/devstoreaccount1)",
    )
    block_size: int = Field(
        8 * MIB,
        ge=64 * 1024,
        le=4000 * MIB,
        description="bytes per staged block; smaller uploads are one Put Blob",
    )
    upload_concurrency: int = Field(2, ge=1, le=16, description="blocks in flight at once")
    list_page_size: int = Field(1000, ge=1, le=5000, description="maxresults per List Blobs page")
    api_version: str = Field(API_VERSION, description="x-ms-version of every request")

    @model_validator(mode="after")
    def _complete(self) -> AzureBlobSettings:
        if self.account_name is None or self.account_key is None:
            raise ValueError(
                "set account_name and account_key (or AZURE_STORAGE_ACCOUNT and "
                "AZURE_STORAGE_KEY): the provider signs requests with the account's Shared Key"
            )
        if not _ACCOUNT.match(self.account_name):
            raise ValueError(
                f"account_name {self.account_name!r} is not a storage account name: 3-24 "
                "lower-case letters and digits"
            )
        decode_key(self.account_key.get_secret_value())
        if not _CONTAINER.match(self.container):
            raise ValueError(
                f"container {self.container!r} is not a container name: 3-63 lower-case "
                "letters, digits and single hyphens"
            )
        if self.endpoint is not None and not self.endpoint.startswith(("http://", "https://")):
            raise ValueError("endpoint must start with http:// or https://")
        return self

    @property
    def account(self) -> str:
        assert self.account_name is not None  # checked by the validator
        return self.account_name

    @property
    def key(self) -> bytes:
        assert self.account_key is not None  # checked by the validator
        return decode_key(self.account_key.get_secret_value())

    @property
    def base_url(self) -> str:
        """The account's Blob endpoint, without a trailing slash."""
        if self.endpoint is not None:
            return self.endpoint.rstrip("/")
        return f"https://{self.account}.blob.core.windows.net"
