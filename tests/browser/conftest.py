"""Settings shared by every browser test.

Playwright's ``expect`` timeout is one process-wide setting: when each module set its own at
import time, the last module collected won for all of them (the maps test then waited 20 s
instead of 90 s for its first deck.gl render and failed on a loaded machine). It is set once
here. A generous value only costs time when a test is failing anyway.
"""

from __future__ import annotations

from playwright.sync_api import expect

expect.set_options(timeout=90_000)  # 2 shared cores: first renders can take long
