"""Benchmarks of distmatch (see DESIGN.md, "Benchmarks"): each module prints a table, every speed
figure is a ratio to a baseline run in the same process, every accuracy figure names its reference.

    python -m benchmarks.references   # expensive independent mpmath references -> references.json
    python -m benchmarks.analytic     # divergences vs references and vs scipy baselines
"""
