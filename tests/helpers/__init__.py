"""Test helpers, imported as a package: `from tests.helpers.paths import ASSETS`."""
