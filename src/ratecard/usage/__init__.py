"""ratecard.usage."""
