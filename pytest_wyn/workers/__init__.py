"""Workers: the xdist decision, the forecast (with discovery), selection, the cost model, the scheduler."""
