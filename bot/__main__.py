"""`python -m bot …`: see bot/cli.py. The collector is tuned first (bot/runtime.py says why)."""

import sys

from bot.runtime import tune_gc

tune_gc()

from bot.cli import main  # noqa: E402 - after tuning, so start-up allocations are collected the new way

sys.exit(main())
