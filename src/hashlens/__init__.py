"""hashlens: Bitcoin mining economics computed from the chain itself."""

__version__ = "0.2.0"
