"""Google Cloud Storage for the integration hub: the ``gcs`` storage provider.

Hooks only: this module is imported at discovery and names everything else by string, so
``cryptography`` and the provider are imported only when a hub is configured to use GCS.
"""

from __future__ import annotations

from hub.plugins import ProviderSpec, hookimpl

hub_plugin_api = 1

_ENV_VARS = {"credentials_file": "GOOGLE_APPLICATION_CREDENTIALS"}


@hookimpl
def hub_providers() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            "storage",
            "gcs",
            "hub_gcs.provider:GcsStorageProvider",
            "hub_gcs.settings:GcsSettings",
            features=frozenset(
                {"presigned_urls", "presigned_put", "metadata", "ranged_reads", "multipart"}
            ),
            env_vars=_ENV_VARS,
            description="Google Cloud Storage (JSON API) with service-account tokens and V4 URLs",
            docs_url="https://cloud.google.com/storage/docs/json_api",
        )
    ]
