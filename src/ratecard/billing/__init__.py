"""ratecard.billing."""
