"""Where the checkout is, for the tests that read its files or start its commands."""

from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
# Figures the reliability tests measure (the load test's p95), shown after the run.
RELIABILITY_RESULTS = BASE_DIR / "var" / "reliability"
