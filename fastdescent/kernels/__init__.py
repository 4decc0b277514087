"""The kernels: pure functions of arrays that run a chunk of trajectories.

Two paths, one semantics:

- ``simd`` (``simd.sweep.sweep_quadratic``): the explicit-SIMD fast path for quadratics,
  16 trajectories (32 in float32) per 512-bit register, as fast as hand-vectorised C.
- the general lane kernels: trajectories side by side in lockstep, their state in flat
  arrays, finished lanes refilled at block boundaries. ``lanes.sweep_lanes`` runs the
  landscapes (the gradient stop rule), with the problem's value, gradient and Hessian
  called through ``dispatch`` on a small integer code; ``lanes_loss.sweep_loss`` runs
  quadratics (the loss stop rule), the path noise, schedules and new optimizers extend.

``make_engine`` (fastdescent.engine) picks the SIMD path for quadratics (``Engine``;
``Engine(spec, path="lanes")`` runs the lane path instead, float64) and the lane kernel
for landscapes (``LaneEngine``). ``tests/test_lanes_loss.py`` shows both quadratic paths
give the same bytes.
``_tiles`` shares the work between threads.
"""

from .simd.sweep import sweep_quadratic

__all__ = ["sweep_quadratic"]
