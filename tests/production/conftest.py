"""Fixtures shared by the production test modules: the cloud `shop` folder and the local `app` and `backend`."""

from tests.production.test_production_cloud import shop
from tests.production.test_production_local import app, backend

__all__ = ["app", "backend", "shop"]
