"""``eventlog.client``: where MLflow users find ``MlflowClient``."""

from eventlog._client import MlflowClient

__all__ = ["MlflowClient"]
