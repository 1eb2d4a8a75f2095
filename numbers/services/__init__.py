"""Writes to numbers, one module per action: `sync` (the owned-numbers sync step),
`purchase` and `reconcile` (buying, and settling what the upstream left in doubt, over the
order state machine in `orders`), `labels`, `release` and `bulk` (labels and tags on many
numbers at once). Views, admin and commands write through these, never to the models."""
