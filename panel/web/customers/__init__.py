"""Customers (tenants) of the provider or of a reseller."""
