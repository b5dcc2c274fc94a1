"""Run bookkeeping and console output; kept small on purpose."""
