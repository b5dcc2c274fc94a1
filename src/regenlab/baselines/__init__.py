"""Classical methods behind the same interface as a trained network, so that they are
evaluated by the same module, data and metric code (``train=false`` runs test only)."""
