"""The /v1 endpoints, one router per subject: chain, economics, miners, simulate, imports."""
