"""Benchmarks. As a Django app (`config.settings.bench` only) it holds the floor endpoints."""
