"""Test tools for the hub and its plugins: fakes, cassettes, chaos and conformance suites."""
