"""Command-line entry points, the demo-data generator, benchmarks and the engine launcher."""
