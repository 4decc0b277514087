"""Closed-form theory: what the sweeps are checked against.

- ``quadratic``: rates, stability limits and optima of gd, heavy ball and Nesterov on
  quadratics (the spectral radius of each eigen-direction's iteration).
- ``noise``: the stationary loss under additive gradient noise (builds on ``quadratic``).
- ``minibatch``: mini-batch SGD on least squares (exact stationary moments over batches,
  the small-step 1/B law, random reshuffling by enumeration).
- ``adaptive``: Adam, RMSProp and Adagrad with the preconditioner frozen (the stability
  edge of the preconditioned sharpness), and the flip orbit at that edge in the full
  map (its stability: which momentum lets runs settle there).
- ``local``: the same theory at a minimum of a landscape, through the Hessian's
  eigenvalues there (stability limits per minimum, local rates).

Everything is re-exported here: ``fastdescent.theory.rate(...)``.
"""

from .adaptive import *  # noqa: F403
from .adaptive import __all__ as _adaptive_all
from .local import *  # noqa: F403
from .local import __all__ as _local_all
from .minibatch import *  # noqa: F403
from .minibatch import __all__ as _minibatch_all
from .noise import *  # noqa: F403
from .noise import __all__ as _noise_all
from .quadratic import *  # noqa: F403
from .quadratic import __all__ as _quadratic_all

__all__ = [*_quadratic_all, *_noise_all, *_local_all, *_minibatch_all, *_adaptive_all]
