"""The week's figures as one composition that every face renders (pvlib's ModelChain is the model)."""

from hashlens.weekly.figures import WeeklyFigures

__all__ = ["WeeklyFigures"]
