"""Decisions over a spec, with no I/O: which pod owns which partition, rebalance and drain
plans, autoscaling decisions. The editor may import it to show a plan before it is saved.
"""
