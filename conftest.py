"""Test-session settings shared by the test suite and the doctests."""

import matplotlib

matplotlib.use("Agg")
