"""The runner's core: no HTTP, no argv, no Jupyter in here."""
