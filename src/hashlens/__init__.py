"""hashlens: Bitcoin mining economics computed from the chain itself."""

__version__ = "0.1.0"
