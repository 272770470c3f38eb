"""Experiments that run the real network (torch, devices, data and time): timing.py (latency on
a device, with the care of a benchmark harness). They live apart from the analyzers, which read
a pass's records only."""
