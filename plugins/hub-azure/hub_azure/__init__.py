"""Azure Blob Storage for the integration hub: the ``azure`` storage provider.

Hooks only: this module is imported at discovery and names everything else by string.
"""

from __future__ import annotations

from hub.plugins import ProviderSpec, hookimpl

hub_plugin_api = 1

_ENV_VARS = {
    "account_name": "AZURE_STORAGE_ACCOUNT",
    "account_key": "AZURE_STORAGE_KEY",
}


@hookimpl
def hub_providers() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            "storage",
            "azure",
            "hub_azure.provider:AzureBlobProvider",
            "hub_azure.settings:AzureBlobSettings",
            features=frozenset(
                {"presigned_urls", "presigned_put", "metadata", "ranged_reads", "multipart"}
            ),
            env_vars=_ENV_VARS,
            description="Azure Blob Storage (block blobs) over REST with Shared Key and SAS URLs",
            docs_url="https://learn.microsoft.com/rest/api/storageservices/blob-service-rest-api",
        )
    ]
