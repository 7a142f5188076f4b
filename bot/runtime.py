"""Process-level tuning of the bot: the garbage collector's thresholds.

The bot keeps a large heap for its whole life (Presidio, the name lexicon, pydantic and SQLAlchemy
metadata, the openai client) and an agent step makes many short-lived containers. With Python's
defaults (700, 10, 10) a collection starts every 700 allocations and the full ones walk the whole
heap: 200 concurrent agent runs spent a tenth of their CPU time in collector pauses (about
0.3-0.5 s in bench/agent.py's concurrency run). Collecting the youngest generation every 50,000
allocations and the older ones 20 times less often cut those pauses to about 0.02 s. Reference
counting still frees nearly everything at once; only reference cycles wait longer.
"""

import gc

GC_THRESHOLDS = (50_000, 20, 20)


def tune_gc() -> None:
    """Set this process's collector thresholds for a long-lived, allocation-heavy server."""
    gc.set_threshold(*GC_THRESHOLDS)
