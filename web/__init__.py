"""The web layer and composition root: Litestar app, CLI, worker."""
