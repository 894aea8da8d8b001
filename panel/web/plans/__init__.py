"""Customer plans: limits, tier and price, sold by the provider or a reseller."""
