"""Vision for Dactyl: randomized camera observations and a CNN pose estimator (Dactyl §2, Table 9; §3, Table 6)."""
