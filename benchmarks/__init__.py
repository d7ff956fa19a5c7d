"""skstack benchmarks; ``python -m benchmarks`` runs the harness."""
