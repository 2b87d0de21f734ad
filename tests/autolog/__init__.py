"""Autologging and model logging: differential tests against MLflow's autologging, plus eventlog's own."""
