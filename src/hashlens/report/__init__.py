"""The weekly mining report: Markdown and HTML with charts, every figure footnoted."""
