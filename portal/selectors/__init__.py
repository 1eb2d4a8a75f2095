"""Reads of the core: `sync` (accounts with their last sync, and how fresh the data is)."""
