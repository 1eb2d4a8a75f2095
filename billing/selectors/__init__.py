"""Finance's figures: `transactions`, `spend`, `recurring`, `balances` and `plans`, over the
calendar `months` and per-currency sums they share."""
