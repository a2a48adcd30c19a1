"""Passerelle domain and persistence layer (no UI imports here)."""
