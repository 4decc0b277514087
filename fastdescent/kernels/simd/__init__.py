"""The explicit-SIMD fast path for quadratics (constant eta, no noise).

``sweep.sweep_quadratic`` runs tiles of 16 (float64) or 32 (float32) trajectories in
512-bit registers (``blocks``, whose step loops are LLVM IR generated in ``vector_ir``).
It computes exactly what the general lane kernel computes on a quadratic, faster.
"""
