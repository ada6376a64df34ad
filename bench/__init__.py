"""ratecard benchmarks: ``python -m bench --help`` (run from the repository root, in .venv)."""
