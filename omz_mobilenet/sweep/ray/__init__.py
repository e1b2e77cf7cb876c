"""The sweep on a Ray cluster: `cluster` (connecting, pins), `station` (one actor per node, measuring
its cells in alternating rounds), `convert_worker` (a group's IR in a fresh process on the node) and
`scheduler` (the driver: which node takes which cells, retries, the single writer of the database).

Ray is imported inside functions only: `omz-mobilenet list` and a local sweep never import it.
"""
