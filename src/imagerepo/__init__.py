"""imagerepo: a self-hosted, multi-user image repository."""

__version__ = "0.1.0"
