"""NumPy baseline for workload W1: heavy ball on lam = (1, kappa), vectorised over trajectories.

This is the "NumPy, vectorised over 65,536-trajectory chunks, masking finished ones" row
of BENCHMARKS.md: the implementation a careful NumPy programmer would write, which the
engine is benchmarked against.  It follows fastdescent's trajectory semantics (v2)
exactly (same float64 expression order, sequential sums in step order), so its outputs
equal the slow twin's (tests/naive.py) bit for bit.

W1: heavy_ball, dim 2, lam = (1, kappa), start = (1, 1), steps 1000, tol 1e-20,
diverge 1e10; eta = lr / lambda_max = lr / kappa.  Trajectory id = C-order index over
(lr, beta, kappa), kappa fastest.

Design:
* a chunk of up to 65,536 trajectories advances in lockstep; every per-lane quantity is
  one row of a 2-D float64 array F (shape (n_rows, n_lanes)), so compacting the active
  set is one gather ``np.take(F, keep, axis=1)``;
* per step and coordinate: v = beta*v - eta*g; w = w + v; x_t**2; F_t = x_t - sigma*x_{t-1};
  the products F_t x_{t-1}, F_t F_{t-1}, x_t F_t, F_t**2; five running sums
  (xx, xf, ff, rxf, rff).  Products are reused across steps (x_{t-1}**2, x_{t-1} F_{t-1}
  and F_{t-1}**2 at step t were computed at step t-1), all with ``out=``;
* sigma (+1 if the first step kept the coordinate's sign, else -1) is measured at t = 1;
* one combined exit test per step, ``conv_thr < gap <= div_thr``; a lane that stops
  has its outputs written at once and is parked (w = v = 0, thresholds that always
  pass) until the next compaction, every 16 steps;
* the estimator's per-coordinate freeze (x_t**2 <= FLOOR at t = 0, B, 2B, ...)
  snapshots S = prev + cur when it happens, instead of masking every addition
  afterwards, and the coordinate is set to the minimum (w = v = 0).

Run ``python benchmarks/numpy_baseline.py`` to time W1.
"""

from __future__ import annotations

import time

import numpy as np

FLOOR = 1e-200
DET_RTOL = 1e-10
MAX_FLOAT = np.finfo(np.float64).max
CONVERGED, DIVERGED, MAX_STEPS = 0, 1, 2
CHUNK = 65_536
COMPACT_EVERY = 16

W1_AXES = dict(
    lr=np.linspace(0.01, 4.0, 256),
    beta=np.linspace(0.0, 0.99, 64),
    kappa=np.geomspace(1.0, 1e4, 64),
)
W1_SETTINGS = dict(steps=1000, tol=1e-20, diverge=1e10)

# ---- row layout of the chunk state F: 24 rows per coordinate, then per-lane scalars ----
# pairs (at t, at t-1) rotate every step
_PER_COORD = 24
_W = [[j * _PER_COORD + r for r in (0, 1)] for j in (0, 1)]  # x_t, x_{t-1}
_SQ = [[j * _PER_COORD + r for r in (2, 3)] for j in (0, 1)]  # x^2 at t, t-1
_FR = [[j * _PER_COORD + r for r in (4, 5)] for j in (0, 1)]  # F at t, t-1
_FF = [[j * _PER_COORD + r for r in (6, 7)] for j in (0, 1)]  # F^2 at t, t-1
_XF = [[j * _PER_COORD + r for r in (8, 9)] for j in (0, 1)]  # x F at t, t-1
_V = [j * _PER_COORD + 10 for j in (0, 1)]
_TMP = [j * _PER_COORD + 11 for j in (0, 1)]
_SIG = [j * _PER_COORD + 12 for j in (0, 1)]  # sigma
_TMP2 = [j * _PER_COORD + 13 for j in (0, 1)]
_CUR = [[j * _PER_COORD + r for r in range(14, 19)] for j in (0, 1)]  # xx xf ff rxf rff
_PREV = [[j * _PER_COORD + r for r in range(19, 24)] for j in (0, 1)]
ETA, BETA, LAM1, CONV, DIV, FTH0, FTH1, GAP = range(48, 56)
_FTH = (FTH0, FTH1)  # freeze threshold: FLOOR while accumulating, -1 once frozen
_NROWS = 56


def fit_rate(xx, xf, ff, rxf, rff, sigma):
    """Vectorised order-2 estimator fit (with the order-1 fallback).

    Sums divided by xx; det = ff - xf*xf; order 2 if ff > 0 and det > DET_RTOL*ff:
    alpha = (rxf*ff - rff*xf)/det, gamma = (rff - xf*rxf)/det, p = sigma - alpha - gamma,
    q = -(sigma*alpha), disc = 0.25*p*p - q; real roots (disc >= 0):
    r = max(|sigma - 0.5*p + s|, |sigma - 0.5*p - s|), s = sqrt(disc) (Python's max: the
    second only if it is greater); complex: r = sqrt(|sigma*gamma|).  Otherwise
    r = |sigma + rxf|; NaN unless xx > 0.  All arguments float64 arrays of one shape.
    """
    with np.errstate(all="ignore"):
        xf = xf / xx
        ff = ff / xx
        rxf = rxf / xx
        rff = rff / xx
        det = ff - xf * xf
        use2 = (ff > 0.0) & (det > DET_RTOL * ff)
        alpha = (rxf * ff - rff * xf) / det
        gamma = (rff - xf * rxf) / det
        p = sigma - alpha - gamma
        q = -(sigma * alpha)
        disc = 0.25 * p * p - q
        s = np.sqrt(disc)
        r_hi = np.abs(sigma - 0.5 * p + s)
        r_lo = np.abs(sigma - 0.5 * p - s)
        r_real = np.where(r_lo > r_hi, r_lo, r_hi)
        r2 = np.where(disc >= 0.0, r_real, np.sqrt(np.abs(sigma * gamma)))
        r1 = np.abs(sigma + rxf)
        return np.where(xx > 0.0, np.where(use2, r2, r1), np.nan)


class _Chunk:
    """Lockstep state of one chunk of W1 trajectories (internal)."""

    def __init__(self, eta, beta, kappa, gid, out, steps, tol, diverge):
        m = eta.size
        self.out, self.steps = out, steps
        self.gid = gid  # int64 (m,): global trajectory ids of the live columns of F
        self.base = int(gid[0]) if m else 0
        self.alive = np.ones(m, dtype=bool)
        self.snap = np.zeros((2, 5, m))  # S at freeze time, indexed by gid - base
        F = self.F = np.zeros((_NROWS, m))
        F[ETA], F[BETA], F[LAM1] = eta, beta, kappa
        self.w = [list(r) for r in _W]
        self.sq = [list(r) for r in _SQ]
        self.fr = [list(r) for r in _FR]
        self.ff = [list(r) for r in _FF]
        self.xf = [list(r) for r in _XF]
        self.cur = [list(r) for r in _CUR]
        self.prev = [list(r) for r in _PREV]

    # -- bookkeeping for lanes that stop ------------------------------------------------
    def rates(self, idx):
        """rate for the live columns idx: per coordinate S = prev + cur (or the
        snapshot if frozen), fit, then max over coordinates ignoring NaN."""
        F, r = self.F, None
        loc = self.gid[idx] - self.base
        for j in (0, 1):
            S = F[np.ix_(self.prev[j], idx)] + F[np.ix_(self.cur[j], idx)]
            frozen = F[_FTH[j], idx] < 0.0
            if frozen.any():
                S[:, frozen] = self.snap[j][:, loc[frozen]]
            rj = fit_rate(*S, F[_SIG[j], idx])
            r = rj if r is None else np.fmax(r, rj)
        return r

    def finish(self, idx, status, t, final_loss):
        """Write the outputs of live columns idx (stopping at step t) and park them."""
        if idx.size == 0:
            return
        out, g = self.out, self.gid[idx]
        out["status"][g] = status
        out["steps"][g] = t
        out["diverge_step"][g] = np.where(status == DIVERGED, t, -1)
        out["final_loss"][g] = final_loss
        out["rate"][g] = self.rates(idx)
        # park: w = v = 0 stays at 0 with gap 0, which always passes the exit test
        F = self.F
        self.alive[idx] = False
        for j in (0, 1):
            F[self.w[j][0], idx] = 0.0
            F[_V[j], idx] = 0.0
            F[_FTH[j], idx] = -1.0
        F[CONV, idx] = -1.0
        F[DIV, idx] = np.inf

    def compact(self):
        keep = np.flatnonzero(self.alive)
        # np.take keeps F C-contiguous (rows contiguous); F[:, keep] would not
        self.F = np.take(self.F, keep, axis=1)
        self.gid = self.gid[keep]
        self.alive = np.ones(keep.size, dtype=bool)

    # -- the run -------------------------------------------------------------------------
    def run(self, tol, diverge):
        F, steps = self.F, self.steps
        B = 32  # rate-window block length (fastdescent.metrics.BLOCK)
        k = 2  # heavy ball: order-2 recurrence
        # t = 0: w = start = (1, 1); loss0 = 0.5 * ((0.0 + lam0*(w0*w0)) + lam1*(w1*w1))
        for j in (0, 1):
            F[self.w[j][0]] = 1.0
            np.multiply(F[self.w[j][0]], F[self.w[j][0]], out=F[self.sq[j][0]])
            F[_SIG[j]] = 1.0
        loss0 = 0.5 * ((0.0 + 1.0 * F[self.sq[0][0]]) + F[LAM1] * F[self.sq[1][0]])
        F[GAP] = loss0  # gap0 = loss0 - 0.0
        F[CONV] = tol * loss0
        # div_thr clamped to the largest double: "gap <= div_thr" then also means "gap is
        # finite", and "gap > div_thr" is unchanged for finite gap
        F[DIV] = np.minimum(diverge * loss0, MAX_FLOAT)
        F[FTH0] = FLOOR
        F[FTH1] = FLOOR
        self.out["loss0"][self.gid] = loss0
        bad = np.flatnonzero(~np.isfinite(loss0))
        self.finish(bad, DIVERGED, 0, np.inf)
        for j in (0, 1):  # freeze at t = 0: the snapshot is all zeros already
            tiny = np.flatnonzero(F[self.sq[j][0]] <= F[_FTH[j]])
            F[_FTH[j], tiny] = -1.0
            F[self.w[j][0], tiny] = 0.0  # and the coordinate is at the minimum
        done = np.flatnonzero(F[GAP] <= F[CONV])
        self.finish(done, CONVERGED, 0, F[GAP, done])

        n = F.shape[1]
        keep = np.empty(n, dtype=bool)
        tmpb = np.empty(n, dtype=bool)
        for t in range(1, steps + 1):
            if t % COMPACT_EVERY == 0:
                n_alive = int(np.count_nonzero(self.alive))
                if n_alive == 0:
                    break
                if n_alive < F.shape[1]:
                    self.compact()
                    F, n = self.F, n_alive
                    keep, tmpb = np.empty(n, dtype=bool), np.empty(n, dtype=bool)
            eta, beta, lam1, gap = F[ETA], F[BETA], F[LAM1], F[GAP]

            # ---- update: v = beta*v - eta*g; w = w + v; x_t^2 ----
            for j in (0, 1):
                w = self.w[j] = self.w[j][::-1]  # (x_t, x_{t-1}) <- (x_{t-1}, x_{t-2})
                sq = self.sq[j] = self.sq[j][::-1]
                w_prev, v, tmp = F[w[1]], F[_V[j]], F[_TMP[j]]
                if j == 0:
                    g = w_prev  # lam0 = 1.0 and 1.0*w == w exactly
                else:
                    g = np.multiply(lam1, w_prev, out=tmp)
                np.multiply(beta, v, out=v)
                np.multiply(eta, g, out=tmp)
                np.subtract(v, tmp, out=v)
                np.add(w_prev, v, out=F[w[0]])
                np.multiply(F[w[0]], F[w[0]], out=F[sq[0]])

            # ---- loss: s = (0.0 + lam0*x2_0) + lam1*x2_1; L = 0.5*s; gap = L - 0.0 ----
            # (0.0 + x == x and 1.0*x == x for x = x2 >= 0, so both are skipped)
            np.multiply(lam1, F[self.sq[1][0]], out=gap)
            np.add(F[self.sq[0][0]], gap, out=gap)
            np.multiply(0.5, gap, out=gap)

            # ---- exit test: keep running iff conv_thr < gap <= div_thr (finite) ----
            np.greater(gap, F[CONV], out=keep)
            np.less_equal(gap, F[DIV], out=tmpb)
            np.logical_and(keep, tmpb, out=keep)
            stopping = None
            if not keep.all():
                stopping = np.flatnonzero(~keep)
                finite = np.isfinite(gap[stopping])
                # non-finite loss: diverged at t, before accumulating step t
                self.finish(stopping[~finite], DIVERGED, t, np.inf)
                stopping = stopping[finite]

            # ---- rate accumulation for step t ----
            if t > 1 and (t - 1) % B == 0:  # a new block: prev = cur; cur = 0
                for j in (0, 1):
                    self.prev[j], self.cur[j] = self.cur[j], self.prev[j]
                    F[self.cur[j]] = 0.0
            for j in (0, 1):
                w, sq, sig = self.w[j], self.sq[j], F[_SIG[j]]
                fr = self.fr[j] = self.fr[j][::-1]
                ff = self.ff[j] = self.ff[j][::-1]
                xf = self.xf[j] = self.xf[j][::-1]
                x, x1, f, tmp, tmp2 = F[w[0]], F[w[1]], F[fr[0]], F[_TMP[j]], F[_TMP2[j]]
                if t == 1:  # sigma = 1.0 if x_1 * x_0 >= 0.0 else -1.0
                    np.multiply(x, x1, out=tmp)
                    np.greater_equal(tmp, 0.0, out=tmpb)
                    sig[...] = np.where(tmpb, 1.0, -1.0)
                np.multiply(sig, x1, out=tmp)
                np.subtract(x, tmp, out=f)  # F_t = x_t - sigma*x_{t-1}
                if t >= k:
                    xx_, xf_, ff_, rxf_, rff_ = (F[r] for r in self.cur[j])
                    np.add(xx_, F[sq[1]], out=xx_)  # += x_{t-1}^2
                    np.multiply(f, x1, out=tmp)
                    np.add(rxf_, tmp, out=rxf_)  # += F_t x_{t-1}
                    np.add(xf_, F[xf[1]], out=xf_)  # += x_{t-1} F_{t-1}
                    np.add(ff_, F[ff[1]], out=ff_)  # += F_{t-1}^2
                    np.multiply(f, F[fr[1]], out=tmp2)
                    np.add(rff_, tmp2, out=rff_)  # += F_t F_{t-1}
                np.multiply(x, f, out=F[xf[0]])  # for step t+1
                np.multiply(f, f, out=F[ff[0]])
                if t % B:
                    continue
                # the end of a block: freeze where x_t^2 <= FLOOR (FTH = -1 once frozen
                # or parked)
                np.less_equal(F[sq[0]], F[_FTH[j]], out=tmpb)
                if tmpb.any():
                    idx = np.flatnonzero(tmpb)
                    loc = self.gid[idx] - self.base
                    prev, cur = F[np.ix_(self.prev[j], idx)], F[np.ix_(self.cur[j], idx)]
                    self.snap[j][:, loc] = prev + cur
                    F[_FTH[j], idx] = -1.0
                # at the floor the coordinate is set to the minimum, velocity included
                np.less_equal(F[sq[0]], FLOOR, out=tmpb)
                if tmpb.any():
                    idx = np.flatnonzero(tmpb)
                    F[w[0], idx] = 0.0
                    F[_V[j], idx] = 0.0

            # ---- finite exits: diverged if gap > div_thr, else converged ----
            if stopping is not None and stopping.size:
                g = gap[stopping]
                status = np.where(g > F[DIV, stopping], DIVERGED, CONVERGED)
                self.finish(stopping, status, t, g)

        live = np.flatnonzero(self.alive)
        if live.size:
            self.finish(live, MAX_STEPS, steps, self.F[GAP, live])


def run_numpy(lr, beta, kappa, steps=1000, tol=1e-20, diverge=1e10, chunk=CHUNK):
    """Run the W1 family (heavy ball, lam = (1, kappa), start (1, 1)) on a grid.

    lr, beta, kappa: 1-D float arrays of axis values; the grid is their C-order product
    (kappa fastest), n = len(lr) * len(beta) * len(kappa); eta = lr / kappa.
    Returns a dict of arrays of shape (n,): status int8 (converged=0, diverged=1,
    max_steps=2), steps int32, diverge_step int32 (-1 unless diverged), loss0,
    final_loss, rate float64.
    """
    lr, beta, kappa = (np.asarray(x, dtype=np.float64).ravel() for x in (lr, beta, kappa))
    shape = (lr.size, beta.size, kappa.size)
    n = lr.size * beta.size * kappa.size
    out = {
        "status": np.full(n, MAX_STEPS, dtype=np.int8),
        "steps": np.zeros(n, dtype=np.int32),
        "diverge_step": np.full(n, -1, dtype=np.int32),
        "loss0": np.zeros(n),
        "final_loss": np.zeros(n),
        "rate": np.full(n, np.nan),
    }
    with np.errstate(all="ignore"):  # diverging lanes overflow by design
        for lo in range(0, n, chunk):
            gid = np.arange(lo, min(lo + chunk, n), dtype=np.int64)
            i_lr, i_beta, i_kappa = np.unravel_index(gid, shape)
            kap = kappa[i_kappa]
            eta = lr[i_lr] / kap  # relative to lambda_max = kappa (>= lam0 = 1)
            _Chunk(eta, beta[i_beta], kap, gid, out, steps, tol, diverge).run(tol, diverge)
    return out


def main():
    axes, settings = W1_AXES, W1_SETTINGS
    t0 = time.perf_counter()
    out = run_numpy(axes["lr"], axes["beta"], axes["kappa"], **settings)
    wall = time.perf_counter() - t0
    n = out["status"].size
    work = int(out["steps"].astype(np.int64).sum())
    counts = np.bincount(out["status"], minlength=3) / n
    print(f"W1 NumPy baseline: {n} trajectories, {work} trajectory-steps")
    print(
        f"converged {counts[0]:.1%}, diverged {counts[1]:.1%}, max_steps {counts[2]:.1%}; "
        f"wall {wall:.2f} s, {work / wall:.3g} trajectory-steps/s"
    )


if __name__ == "__main__":
    main()
