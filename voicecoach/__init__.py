"""voicecoach: a hands-free, voice-guided companion for inversion-table sessions."""

import os

# One BLAS thread, set before anything loads numpy. A session, its judge and its speech
# engine share the machine's cores (two, on the development machine); OpenBLAS's helper
# threads spin while they wait for work, and took a core from the judge while the stop
# spotter ran its small matrix products: measured, the latency bench's p95 from the end of
# "stop" to the return prompt went from 112 ms to the figure in the README with this.
# The user's own setting is kept.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"
