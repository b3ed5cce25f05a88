"""AWS through aiobotocore: one lazily opened client per provider, and its errors mapped once.

Shared by the AWS plugins (SES, SNS, S3): one client lifecycle, one set of settings and one
error boundary, so each plugin is only mapping.
aiobotocore (and botocore) are imported only when the first call opens the client, never when
the plugin is discovered or the provider is built.

Retries are the hub's job (its pipeline decides with ``retryable``/``failover_safe``), so the
client is opened with botocore's own retries off and the hub's HTTP timeouts.

A client costs memory for as long as it is open (botocore's service model, endpoint rules and
endpoint data, parsed from JSON). Two things keep that down: each client's session keeps only
its own service's part of endpoints.json (botocore's keeps all ~300 services of every
partition), and glibc is asked to hand back what parsing freed (``malloc_trim``). Measured in
``bench/memory.py``'s process after an S3 client's first call: 84.5 MB resident without either,
81.4 with the first, 80.8 with the second, 78.7 with both.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any, Literal

import anyio
from pydantic import Field, SecretStr, model_validator

from hub.errors import (
    AuthenticationError,
    ConfigurationError,
    HubError,
    InvalidRequest,
    NotFound,
    ProviderError,
    RateLimited,
    Timeout,
    Unavailable,
)
from hub.settings import ProviderSettings

if TYPE_CHECKING:
    from hub._runtime import ProviderContext

__all__ = [
    "AWS_ENV_VARS",
    "ERROR_CODES",
    "AwsClient",
    "AwsSettings",
    "ErrorKind",
    "aws_error",
    "aws_errors",
    "error_of_kind",
]

ErrorKind = Literal[
    "rate_limited", "invalid", "refused", "authentication", "not_found", "unavailable"
]

#: Settings field -> the conventional AWS variable. botocore's own chain (AWS_DEFAULT_REGION,
#: ~/.aws/config, instance roles) still applies to whatever stays unset.
AWS_ENV_VARS: Mapping[str, str] = {
    "region": "AWS_REGION",
    "access_key_id": "AWS_ACCESS_KEY_ID",
    "secret_access_key": "AWS_SECRET_ACCESS_KEY",
    "session_token": "AWS_SESSION_TOKEN",
}

#: Documented AWS error codes (``Error.Code``) and what they mean to the hub.
ERROR_CODES: Mapping[str, ErrorKind] = {
    **dict.fromkeys(
        (
            "Throttling",
            "ThrottlingException",
            "TooManyRequestsException",
            "LimitExceededException",
            "RequestLimitExceeded",
            "SlowDown",
            "Throttled",  # SNS
        ),
        "rate_limited",
    ),
    **dict.fromkeys(
        (
            "MessageRejected",
            "BadRequestException",
            "InvalidParameterValue",
            "InvalidParameterException",
            "InvalidParameterCombination",
            "ValidationError",
            "ValidationException",
            "SerializationException",
            "InvalidParameter",  # SNS
            "ParameterValueInvalid",  # SNS
            "OptedOut",  # SNS: the number replied STOP
        ),
        "invalid",
    ),
    # The account or its sender setup cannot send now: asking again will not help, but the
    # message provably was not sent, so another provider may take it.
    **dict.fromkeys(
        (
            "AccountSendingPausedException",
            "SendingPausedException",
            "AccountSuspendedException",
            "ConfigurationSetSendingPausedException",
            "MailFromDomainNotVerifiedException",
        ),
        "refused",
    ),
    **dict.fromkeys(
        (
            "UnrecognizedClientException",
            "InvalidClientTokenId",
            "SignatureDoesNotMatch",
            "InvalidSignatureException",
            "IncompleteSignature",
            "MissingAuthenticationToken",
            "AccessDenied",
            "AccessDeniedException",
            "AuthorizationError",
            "ExpiredToken",
            "ExpiredTokenException",
            "InvalidSecurity",  # SNS
        ),
        "authentication",
    ),
    **dict.fromkeys(
        ("NotFoundException", "NotFound", "ResourceNotFoundException", "NoSuchKey"), "not_found"
    ),
    **dict.fromkeys(
        (
            "InternalFailure",
            "InternalError",
            "InternalServerError",
            "InternalServiceErrorException",
            "ServiceUnavailable",
            "ServiceUnavailableException",
        ),
        "unavailable",
    ),
}

_STATUS_KIND: Mapping[int, ErrorKind] = {
    400: "invalid",
    401: "authentication",
    403: "authentication",
    404: "not_found",
    422: "invalid",
    429: "rate_limited",
}
_MESSAGE_LIMIT = 300


class AwsSettings(ProviderSettings):
    """Credentials, region and endpoint of an AWS provider; unset values use botocore's chain."""

    region: str | None = Field(None, description="e.g. eu-west-1 (else AWS_DEFAULT_REGION)")
    access_key_id: str | None = Field(None, description="with secret_access_key; else the chain")
    secret_access_key: SecretStr | None = None
    session_token: SecretStr | None = Field(None, description="for temporary credentials")
    endpoint_url: str | None = Field(
        None, description="another endpoint (moto, LocalStack), e.g. http://127.0.0.1:5000"
    )

    @model_validator(mode="after")
    def _credentials_complete(self) -> AwsSettings:
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise ValueError(
                "set access_key_id and secret_access_key together (or neither, to use the AWS "
                "credential chain: profiles, instance roles)"
            )
        if self.session_token is not None and self.access_key_id is None:
            raise ValueError("session_token needs access_key_id and secret_access_key")
        if self.endpoint_url is not None and not self.endpoint_url.startswith(
            ("http://", "https://")
        ):
            raise ValueError("endpoint_url must start with http:// or https://")
        return self

    def secrets(self) -> list[str]:
        return [
            s.get_secret_value()
            for s in (self.secret_access_key, self.session_token)
            if s is not None and s.get_secret_value()
        ]


class AwsClient:
    """One aiobotocore client of one provider, opened on first use and closed by ``aclose()``."""

    def __init__(
        self,
        service: str,
        settings: AwsSettings,
        context: ProviderContext,
        *,
        config: Mapping[str, Any] | None = None,
    ) -> None:
        """``config``: more ``AioConfig`` options (e.g. ``{"s3": {"addressing_style": "path"}}``)
        on top of the hub's timeouts, pool size and retries."""
        self.service = service
        self.provider = context.name
        self._settings = settings
        self._config = dict(config or {})
        # Imported here: plugin settings import this module at discovery, and hub.http brings
        # httpx (which imports rich and pygments for its CLI when they are installed).
        from hub.http import provider_http_settings

        self._http = provider_http_settings(context)
        self._secrets = settings.secrets()
        self._stack: AsyncExitStack | None = None
        self._client: Any = None
        self._lock = anyio.Lock()

    async def get(self) -> Any:
        """The open client (opening it on first use); typed by the caller."""
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    self._client = await self._open()
        return self._client

    async def call(self, operation: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """Call ``client.<operation>(**params)``, its failures mapped onto the hub's errors."""
        client = await self.get()
        with aws_errors(self.provider, operation, secrets=self._secrets):
            response: dict[str, Any] = await getattr(client, operation)(**params)
        return response

    async def _open(self) -> Any:
        from aiobotocore.config import AioConfig

        settings = self._settings
        # Any: the stubs type create_client per literal service name; callers cast the client.
        session: Any = _session(self.service)
        config = AioConfig(
            connect_timeout=self._http.timeout,
            read_timeout=self._http.timeout,
            max_pool_connections=self._http.max_connections,
            retries={"total_max_attempts": 1, "mode": "standard"},
            user_agent_extra="integration-hub",
            **self._config,
        )
        stack = AsyncExitStack()
        with aws_errors(self.provider, "connect", secrets=self._secrets):
            client = await stack.enter_async_context(
                session.create_client(
                    self.service,
                    region_name=settings.region,
                    endpoint_url=settings.endpoint_url,
                    aws_access_key_id=settings.access_key_id,
                    aws_secret_access_key=_plain(settings.secret_access_key),
                    aws_session_token=_plain(settings.session_token),
                    config=config,
                )
            )
        self._stack = stack
        _trim_heap()
        return client

    async def aclose(self) -> None:
        stack, self._stack, self._client = self._stack, None, None
        if stack is not None:
            await stack.aclose()

    def __repr__(self) -> str:
        state = "open" if self._client is not None else "closed"
        return f"<AwsClient {self.service} provider={self.provider!r} {state}>"


def _plain(secret: SecretStr | None) -> str | None:
    return None if secret is None else secret.get_secret_value()


#: Endpoint data the credential chain's own clients look up (STS for roles, SSO, sign-in),
#: kept beside the client's service in case the session creates them.
_CREDENTIAL_ENDPOINTS = frozenset({"sts", "portal.sso", "oidc", "signin"})


def _session(service: str) -> Any:
    """An aiobotocore session whose endpoint data holds only what a ``service`` client needs.

    botocore's session parses all of endpoints.json and keeps it as long as any of its clients
    lives, though a client looks up only its own service (by endpoint prefix) and, for the
    credential chain, STS and SSO. Every :class:`AwsClient` has a session of its own, so the
    rest is dropped right after parsing. Should botocore's internals move, the session is left
    as it is.
    """
    from aiobotocore.session import get_session

    session: Any = get_session()
    components = getattr(session, "_internal_components", None)
    if components is None or not hasattr(components, "lazy_register_component"):
        return session

    def endpoint_resolver() -> Any:
        from botocore.exceptions import DataNotFoundError
        from botocore.regions import EndpointResolver

        loader = session.get_component("data_loader")
        model = loader.load_service_model(service, "service-2")  # cached: the client's own
        keep = {service, model.get("metadata", {}).get("endpointPrefix"), *_CREDENTIAL_ENDPOINTS}
        for base in loader.search_paths:  # as loader.load_data_with_path, but not cached
            path = os.path.join(base, "endpoints")
            endpoints = loader.file_loader.load_file(path)
            if endpoints is not None:
                break
        else:
            raise DataNotFoundError(data_path="endpoints")
        for partition in endpoints.get("partitions", []):
            services = partition.get("services", {})
            partition["services"] = {k: v for k, v in services.items() if k in keep}
        return EndpointResolver(endpoints, uses_builtin_data=loader.is_builtin_path(path))

    components.lazy_register_component("endpoint_resolver", endpoint_resolver)
    return session


def _trim_heap() -> None:
    """Hand the memory freed while a client was built back to the system (glibc only).

    Parsing botocore's JSON leaves freed blocks that glibc keeps in its heap; ``malloc_trim``
    returns them (3-4 MB after an S3 client). Elsewhere (musl, macOS, Windows) a no-op.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)


@contextlib.contextmanager
def aws_errors(
    provider: str, operation: str, *, secrets: list[str] | None = None
) -> Iterator[None]:
    """The one boundary: botocore's exceptions inside the block leave it as hub errors."""
    try:
        yield
    except HubError:
        raise
    except Exception as exc:
        mapped = aws_error(exc, provider=provider, operation=operation, secrets=secrets or [])
        if mapped is None:
            raise
        raise mapped from exc


def aws_error(
    exc: BaseException, *, provider: str, operation: str, secrets: list[str] | None = None
) -> HubError | None:
    """The hub error for a botocore exception, or None when ``exc`` is not botocore's."""
    from botocore import exceptions as bx

    where = f"{provider}: {operation}"
    if isinstance(exc, bx.ClientError):
        error = exc.response.get("Error", {})
        meta = exc.response.get("ResponseMetadata", {})
        code = str(error.get("Code") or "") or None
        status = meta.get("HTTPStatusCode")
        message = _clean(str(error.get("Message") or ""), secrets or [])
        raw = {"code": code, "message": message, "status": status}
        if meta.get("RequestId"):
            raw["request_id"] = meta["RequestId"]
        kind = ERROR_CODES.get(code or "") or _STATUS_KIND.get(status or 0)
        if kind is None and isinstance(status, int) and status >= 500:
            kind = "unavailable"
        said = f" (HTTP {status}, {code})" + (f": {message}" if message else "")
        return error_of_kind(
            kind, where + said, provider=provider, status=status, code=code, raw=raw
        )
    if isinstance(exc, bx.ConnectTimeoutError | bx.EndpointConnectionError):
        return Unavailable(
            f"{where}: could not connect ({type(exc).__name__}); nothing was sent, so retrying "
            "or failing over is safe",
            provider=provider,
            retryable=True,
            failover_safe=True,
        )
    if isinstance(exc, bx.ReadTimeoutError):
        return Timeout(
            f"{where}: no answer in time; the request may have been processed",
            provider=provider,
            retryable=False,
            failover_safe=False,
        )
    if isinstance(exc, bx.NoRegionError):
        return ConfigurationError(
            f"{where}: no AWS region is configured; set the provider's region "
            "(HUB_<CAPABILITY>__<PROVIDER>__REGION), AWS_REGION or AWS_DEFAULT_REGION"
        )
    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError):
        return AuthenticationError(
            f"{where}: no usable AWS credentials; set access_key_id and secret_access_key "
            "(or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a profile or an instance role)",
            provider=provider,
        )
    if isinstance(exc, bx.ParamValidationError):
        return InvalidRequest(
            f"{where}: the request does not fit the AWS API: {_clean(str(exc), secrets or [])}",
            provider=provider,
        )
    if isinstance(exc, bx.HTTPClientError):  # dropped connections and the like
        return Unavailable(
            f"{where}: the connection broke ({type(exc).__name__}); the request may have been "
            "processed",
            provider=provider,
            retryable=False,
            failover_safe=False,
        )
    return None


def error_of_kind(
    kind: ErrorKind | None,
    message: str,
    *,
    provider: str,
    status: int | None = None,
    code: str | None = None,
    raw: Any = None,
) -> HubError:
    """Build the hub error for one of the :data:`ErrorKind` (None: an unknown failure)."""
    common: dict[str, Any] = {
        "provider": provider,
        "status": status,
        "vendor_code": code,
        "raw": raw,
    }
    if kind == "invalid":
        return InvalidRequest(
            message + "; fix the input, the same request will fail again",
            provider=provider,
            vendor_code=code,
            raw=raw,
        )
    if kind == "rate_limited":
        return RateLimited(message + "; slow down", **common)
    if kind == "authentication":
        return AuthenticationError(
            message + "; check the AWS credentials and their IAM permissions", **common
        )
    if kind == "not_found":
        return NotFound(message, **common)
    if kind == "refused":
        return ProviderError(message, retryable=False, failover_safe=True, **common)
    if kind == "unavailable":
        return Unavailable(message, failover_safe=status == 503, **common)
    return ProviderError(message, retryable=False, failover_safe=False, **common)


def _clean(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    text = " ".join(text.split())
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 3] + "..."
