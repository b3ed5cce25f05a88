"""Build a tiny but real wheel in a test, so plugin discovery is tested through an installer."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def build_wheel(
    directory: Path,
    *,
    distribution: str,
    version: str,
    modules: dict[str, str],
    entry_points: dict[str, str],
) -> Path:
    """Write a ``py3-none-any`` wheel holding ``modules`` and ``hub.plugins`` entry points."""
    dist = distribution.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    files: dict[str, bytes] = {name: text.encode() for name, text in modules.items()}
    files[f"{info}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n"
    ).encode()
    files[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: hub-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    eps = "[hub.plugins]\n" + "".join(f"{k} = {v}\n" for k, v in entry_points.items())
    files[f"{info}/entry_points.txt"] = eps.encode()
    record = [_record_line(name, data) for name, data in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    path = directory / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        for name, data in files.items():
            wheel.writestr(name, data)
    return path
