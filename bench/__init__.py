"""Performance benchmarks of the CRM copilot: `python -m bench [SUITE ...]` (or `make bench`).

Each suite is a function returning a JSON-ready dict (see `bench.report` for its shape); the
runner writes it to `bench/results/<suite>.json` and regenerates `docs/benchmarks.md` from every
result file present, so a new suite only has to register itself in `bench.__main__.SUITES`.
"""
