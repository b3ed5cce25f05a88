"""The PostgreSQL schema fixture, shared with the CLI tests here."""

from tests.plugins.postgres.conftest import pg_schema

__all__ = ["pg_schema"]
