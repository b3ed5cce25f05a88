"""Fixtures for the SES plugin: moto's server on 127.0.0.1 for the whole session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.plugins.ses._support import CREDENTIALS, REGION, VERIFIED_DOMAIN


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # aiobotocore runs on asyncio only


@pytest.fixture(scope="session")
def moto_server() -> Iterator[tuple[str, Any]]:
    """moto's server for the whole session, and a plain botocore SES v2 client to set it up."""
    import botocore.session
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    client: Any = botocore.session.get_session().create_client(
        "sesv2",
        region_name=REGION,
        endpoint_url=url,
        aws_access_key_id=CREDENTIALS["access_key_id"],
        aws_secret_access_key=CREDENTIALS["secret_access_key"],
    )
    try:
        yield url, client
    finally:
        client.close()
        server.stop()


@pytest.fixture
def moto_url(moto_server: tuple[str, Any]) -> str:
    """moto's URL, with example.com verified for sending (again, should anyone reset moto)."""
    url, client = moto_server
    identities = client.list_email_identities()["EmailIdentities"]
    if VERIFIED_DOMAIN not in {i["IdentityName"] for i in identities}:
        client.create_email_identity(EmailIdentity=VERIFIED_DOMAIN)
    return url
