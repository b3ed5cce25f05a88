"""Amazon S3 (and S3-compatible stores) for the integration hub: the ``s3`` storage provider.

Hooks only: this module is imported at discovery and names everything else by string, so
aiobotocore is imported only when a hub stores something through S3.
"""

from __future__ import annotations

from hub.plugins import ProviderSpec, hookimpl

hub_plugin_api = 1

_ENV_VARS = {
    "region": "AWS_REGION",
    "access_key_id": "AWS_ACCESS_KEY_ID",
    "secret_access_key": "AWS_SECRET_ACCESS_KEY",
    "session_token": "AWS_SESSION_TOKEN",
    "endpoint_url": "AWS_ENDPOINT_URL_S3",
}


@hookimpl
def hub_providers() -> list[ProviderSpec]:
    return [
        ProviderSpec(
            "storage",
            "s3",
            "hub_s3.provider:S3StorageProvider",
            "hub_s3.settings:S3Settings",
            features=frozenset(
                {"presigned_urls", "presigned_put", "metadata", "ranged_reads", "multipart"}
            ),
            env_vars=_ENV_VARS,
            description="Amazon S3 and S3-compatible stores (MinIO, R2, B2) through aiobotocore",
            docs_url="https://docs.aws.amazon.com/AmazonS3/latest/API/",
        )
    ]
