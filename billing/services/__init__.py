"""Writes to billing data: the sync steps `transactions`, `balances`, `plans` and
`plan_fees`, the rentals the portal `estimates`, and low-balance `thresholds`."""
