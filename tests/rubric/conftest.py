"""The headless Chromium of the report tests, for the grades grid."""
from tests.reports.conftest import browser, page  # noqa: F401 — pytest fixtures
