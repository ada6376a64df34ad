"""ratecard.cli."""
