"""`diagnose`: where a lower-precision IR loses against its float IR, layer by layer, and which layers to keep
in float (an NNCF ignored scope). `graphs.py` matches the two graphs' layers, `compare.py` runs both on the
same images and measures SQNR and cosine per layer, `counters.py` reads the performance counters (what ran
int8, where reorders sit), `layers.py` ranks the layers, `scope.py` searches the ignored scope, `plan.py` checks
and `measure.py` runs a diagnosis, `page.py` writes the HTML page."""
