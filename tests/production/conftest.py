"""The `shop` fixture (a plan folder, an old database and cloud fakes) for every production test module."""

from tests.production.test_production_cloud import shop

__all__ = ["shop"]
