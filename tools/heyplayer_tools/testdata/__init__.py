"""Generators of the test audio and manifests (not in git: tests/out/)."""
