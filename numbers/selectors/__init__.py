"""Reads of numbers: `numbers` (the list, its filters, the overview), `search` (numbers to
buy across providers), `offers` (an offer carried to the buy dialog, and its preview) and
`history` (what changed on a number)."""
