"""TradeMatch connection layer."""

__version__ = "0.1.0"
