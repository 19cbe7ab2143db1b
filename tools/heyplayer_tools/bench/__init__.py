"""Benchmarks driven from Python: the daemon's soak and idle cost (make soak),
the wake word on the held-out corpus (make bench-wake: wake_eval,
first_stage_curve). The Rust benchmarks are in benches/."""
