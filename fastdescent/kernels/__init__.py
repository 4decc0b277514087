"""The kernels: pure functions of arrays that run a chunk of trajectories.

Two paths, one semantics:

- ``simd`` (``simd.sweep.sweep_quadratic``): the explicit-SIMD fast path for quadratics,
  16 trajectories (32 in float32) per 512-bit register, as fast as hand-vectorised C.
- ``lanes`` (``lanes.sweep_lanes``): the general lane kernel. Every problem and optimizer
  runs on it: ``NL`` trajectories side by side in lockstep, their state in flat arrays,
  the problem's value, gradient and Hessian called through ``dispatch`` on a small
  integer code, finished lanes refilled at block boundaries.

``Engine`` (fastdescent.engine) picks the fast path where it applies (a quadratic) and
the lane kernel otherwise; tests show both give the same rows where both apply.
``_tiles`` shares the work between threads.
"""

from .simd.sweep import sweep_quadratic

__all__ = ["sweep_quadratic"]
