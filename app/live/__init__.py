"""Realtime: the hub seam (publish/subscribe per table) and the per-table broadcaster."""
