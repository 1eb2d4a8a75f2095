"""Writes of the core: `sync` (a sync run of an account, its steps and its recovery),
`endpoints` (what an account's API turned out not to offer) and `audit` (the audit log)."""
