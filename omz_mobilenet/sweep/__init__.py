"""The model x precision x device x bench-configuration matrix: spec, plan, cell measurement,
and the local and Ray drivers that store each finished cell in the results database."""
