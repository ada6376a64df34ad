"""ratecard.rating."""
