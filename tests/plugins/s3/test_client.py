"""The S3 client the hub opens resolves AWS endpoints as botocore's own does.

``hub.aws`` keeps only the client's own service in its session's endpoint data (a memory
saving); these checks sign URLs locally, so nothing leaves the machine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from hub import Hub
from tests.plugins.s3.conftest import BUCKET, CREDENTIALS, s3_client

pytestmark = pytest.mark.anyio


def _where(url: str) -> tuple[str, str, str]:
    """Host, path and credential scope (region/service) of a presigned URL."""
    parts = urlsplit(url)
    credential = parse_qs(parts.query)["X-Amz-Credential"][0]
    _key, _date, region, service, _ = credential.split("/")
    return parts.netloc, parts.path, f"{region}/{service}"


@pytest.mark.parametrize(
    "region", ["us-east-1", "eu-west-1", "ap-southeast-2", "cn-north-1", "us-gov-west-1"]
)
async def test_endpoints_match_botocore_in_every_partition(
    s3_hub: Callable[..., Hub], region: str
) -> None:
    from aiobotocore.config import AioConfig
    from aiobotocore.session import get_session

    hub = s3_hub(region=region, endpoint_url=None)
    ours = await s3_client(hub)
    config = AioConfig(s3={"addressing_style": "auto"}, signature_version="s3v4")
    async with get_session().create_client(
        "s3",
        region_name=region,
        aws_access_key_id=CREDENTIALS["access_key_id"],
        aws_secret_access_key=CREDENTIALS["secret_access_key"],
        config=config,
    ) as plain:
        theirs: Any = plain
        for client in (ours, theirs):
            assert client.meta.region_name == region
        assert ours.meta.endpoint_url == theirs.meta.endpoint_url
        assert ours.meta.partition == theirs.meta.partition
        params = {"Bucket": BUCKET, "Key": "a/b.txt"}
        signed = [
            _where(await c.generate_presigned_url("get_object", Params=params))
            for c in (ours, theirs)
        ]
    assert signed[0] == signed[1]
    assert signed[0][2] == f"{region}/s3"
