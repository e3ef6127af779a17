"""Benchmarks of the model graphs (`npm run bench:model`)."""
