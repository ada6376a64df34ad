"""ratecard.prices: what a price is and what it charges for a quantity."""
