"""Tavoli: live tavoli di confronto for co-programming events."""
