"""Helpers shared by the tests, the benchmarks (scripts/) and the lab (lab/): a private
PulseAudio server with virtual devices, reading a running session's --events file, and
the development set's voice folds. Not part of the product: `pip install .` ships only
voicecoach/; scripts/setup.sh puts this checkout on the development venv's path."""
