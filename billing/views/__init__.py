"""The billing pages, one module per page family; each module lists its own URLs."""
