"""ratecard.rating.models."""
