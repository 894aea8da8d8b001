"""Reseller plans (allowances): what the provider lets a reseller share out."""
