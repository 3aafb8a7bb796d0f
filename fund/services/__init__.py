"""Every write of the common fund, one module per part (governance, rounds, …)."""
