"""Benchmarks: `make bench` prints figures and ratios measured side by side; `make bench-check` fails when
a figure is below its budget. Never run as unit tests: the machine is shared, so timings are noisy."""
