"""billecta-gateway: an async gateway between Lime CRM and the Billecta invoicing API."""

from importlib.metadata import PackageNotFoundError, version

try:
    # pyproject.toml holds the version; the installed distribution's metadata carries it.
    __version__ = version("billecta-gateway")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"
