"""Explicit-SIMD step loops for quadratic sweeps, written as LLVM IR inside Numba.

``dynamics_burst(S, n, r, optimizer)`` advances 16 (float32: 32) trajectories of a 2-D
diagonal quadratic by ``n`` steps in lockstep, with the state of all of them held in
``<8 x double>`` (``<16 x float>``) vector registers for the whole loop. Numba's own loop
vectoriser cannot do that: it vectorises the innermost loop over lanes, so the state
goes through memory on every step. Here the loop over steps is the only loop, each group
of lanes is one SSA value per state variable, and the generated code is a straight run
of packed multiplies, adds, compares and blends (``tests/test_vector_ir.py`` checks the
assembly). ``dynamics_burst_d`` is the same for any number of coordinates d, with their
state in memory (64 coordinates do not fit in registers); ``window_sums`` replays rate
windows.

The loop computes the dynamics and the stopping tests only; the rate-window sums are
recomputed afterwards, for the last two blocks of each trajectory only, from checkpoints
(``fastdescent.kernels.simd.blocks``). Per step and lane, with the operations in the same order as
``tests/naive.py`` (plain IEEE float64, no FMA contraction, so bit-identical to it):

    gd          g = lam * w;           w = w - eta * g
    heavy_ball  g = lam * w;           v = beta * v - eta * g;  w = w + v
    nesterov    g = lam * (w + beta v); v = beta * v - eta * g;  w = w + v
    loss = 0.5 * (lam_0 * (w_0 * w_0) + lam_1 * (w_1 * w_1) + ...)

and it records, as the step index k = 1..n of this burst (a float), where its row holds
0.0 (the caller resets it after reading an event):

- ``stopk``: the first k with ``not (loss <= div)`` (above the divergence threshold,
  inf or NaN) or ``loss <= conv``, and ``stoploss`` the loss at that step. Lanes go on
  stepping after they stop (their later values are not used), so the loop has no exit
  but its end.
- ``frz_i``: 1.0 where, after the last step, ``w_i * w_i <= FLOOR`` (the rate window's
  underflow freeze, ``fastdescent.metrics``, checked at the end of every block), and
  such a coordinate is then set to the minimum, w_i = v_i = 0, where it stays.
- ``lossr``: the loss at step ``r`` (a lane that reaches ``steps`` there stops with it).
- ``wp_i``: w_i before the last step (for the checkpoint's F = w - sigma * wp).

Before the first step the burst rotates the checkpoints: rows CK_PREV take rows CK_CUR,
and rows CK_CUR take the state (w, v, wp) the burst starts from.

Layout of ``S`` (float64 or float32, C-contiguous, ``NROWS * nl`` with nl = 16 or 32
lanes): row q holds lanes ``S[q * nl : (q + 1) * nl]``, with the rows below. Rows
ETA .. V1 and STOPK, STOPLOSS are read; rows W0 .. WP1 and STOPK .. LOSSR are written;
rows CK_CUR .. CK_PREV + 5 are rotated.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, register_jitable

from ...metrics import FLOOR, FLOOR32
from ...optimizers import GD, HEAVY_BALL, NESTEROV

VW = 8  # float64 lanes per vector: 8 float64 = one 512-bit register (16 for float32)
GROUPS = 2  # independent vectors per step: two dependency chains hide the latency
NL = VW * GROUPS  # float64 lanes per burst (float32: 2 * NL = NL * 8 // itemsize)


# rows of S: per lane
ETA, BETA, CONV, DIV, STOPK, STOPLOSS, LOSSR, ANYFRZ = range(8)
LANE_ROWS = 8
# per coordinate i, at rows LANE_ROWS + i * COORD_ROWS + q (``coord_row``)
LAM, W, V, WP, FRZ = range(5)
CK_CUR = 5  # w, v, wp at the start of this burst (3 rows)
CK_PREV = 8  # the same at the start of the previous burst
COORD_ROWS = 11


@register_jitable
def coord_row(i, q):
    """Row of field q of coordinate i."""
    return LANE_ROWS + COORD_ROWS * i + q


@register_jitable
def n_rows(d):
    """Rows of S for d coordinates."""
    return LANE_ROWS + COORD_ROWS * d


_I64 = ir.IntType(64)
_I32 = ir.IntType(32)


class _Vec:
    """The vector type of one group of lanes, for float64 or float32 state."""

    def __init__(self, numba_dtype):
        single = numba_dtype == types.float32
        self.el = ir.FloatType() if single else ir.DoubleType()
        self.width = 2 * VW if single else VW
        self.ty = ir.VectorType(self.el, self.width)
        self.floor = FLOOR32 if single else FLOOR

    def const(self, x):
        return ir.Constant(self.ty, [float(x)] * self.width)

    def splat(self, builder, x):
        """A scalar broadcast to every lane."""
        v = builder.insert_element(ir.Constant(self.ty, ir.Undefined), x, ir.Constant(_I32, 0))
        mask = ir.Constant(ir.VectorType(_I32, self.width), [0] * self.width)
        return builder.shuffle_vector(v, v, mask)

    def index(self, builder, k):
        """The int64 step index k as a vector of floats."""
        return self.splat(builder, builder.sitofp(k, self.el))


_F64 = _Vec(types.float64)


def _emit_step(builder, optimizer, eta, beta, lam, w, v):
    """One optimizer step on vectors, in the operation order of tests/naive.py: (w, v)."""
    if optimizer == GD:
        grad = builder.fmul(lam, w)
        return builder.fsub(w, builder.fmul(eta, grad)), v
    bv = builder.fmul(beta, v)
    look = w if optimizer == HEAVY_BALL else builder.fadd(w, bv)
    grad = builder.fmul(lam, look)
    v = builder.fsub(bv, builder.fmul(eta, grad))
    return builder.fadd(w, v), v


def _emit_stop_tests(builder, vt, var, losses, k, k_int, r):
    """The stopping tests of step k on each group's loss: the first k with
    ``not (loss <= div) or loss <= conv`` and its loss go to stopk / stoploss (blends, no
    branch), and the loss of step r to lossr."""
    zero = vt.const(0.0)
    for g, loss in enumerate(losses):
        stop = builder.or_(
            builder.fcmp_unordered(">", loss, builder.load(var["div", g])),
            builder.fcmp_ordered("<=", loss, builder.load(var["conv", g])),
        )
        stopk = builder.load(var["stopk", g])
        first = builder.and_(stop, builder.fcmp_ordered("==", stopk, zero))
        builder.store(builder.select(first, k, stopk), var["stopk", g])
        stoploss = builder.load(var["stoploss", g])
        builder.store(builder.select(first, loss, stoploss), var["stoploss", g])
    with builder.if_then(builder.icmp_signed("==", k_int, r), likely=False):
        for g, loss in enumerate(losses):
            builder.store(loss, var["lossr", g])


def _emit_loop(builder, vt, optimizer, var, n, r):
    """The step loop for one optimizer; ``var[name, g]`` are the allocas of the state."""
    half = vt.const(0.5)
    with cgutils.for_range(builder, n) as loop:
        k_int = builder.add(loop.index, ir.Constant(_I64, 1))
        k = vt.index(builder, k_int)
        losses = []
        for g in range(GROUPS):

            def get(name, g=g):
                return builder.load(var[name, g])

            def put(name, value, g=g):
                builder.store(value, var[name, g])

            eta, beta = get("eta"), get("beta")
            s = None
            for i in (0, 1):
                w, lam = get(f"w{i}"), get(f"lam{i}")
                put(f"wp{i}", w)
                w, v = _emit_step(builder, optimizer, eta, beta, lam, w, get(f"v{i}"))
                put(f"w{i}", w)
                if optimizer != GD:
                    put(f"v{i}", v)
                term = builder.fmul(lam, builder.fmul(w, w))
                s = term if s is None else builder.fadd(s, term)
            losses.append(builder.fmul(half, s))
        _emit_stop_tests(builder, vt, var, losses, k, k_int, r)


_LANE_IN = {"eta": ETA, "beta": BETA, "conv": CONV, "div": DIV, "stopk": STOPK,
            "stoploss": STOPLOSS}  # fmt: skip
_LANE_OUT = {"stopk": STOPK, "stoploss": STOPLOSS, "lossr": LOSSR, "anyfrz": ANYFRZ}
_IN = {**_LANE_IN, **{f"{f}{i}": coord_row(i, q) for i in (0, 1)
                      for f, q in (("lam", LAM), ("w", W), ("v", V))}}  # fmt: skip
_OUT = {**_LANE_OUT, **{f"{f}{i}": coord_row(i, q) for i in (0, 1)
                        for f, q in (("w", W), ("v", V), ("wp", WP), ("frz", FRZ))}}  # fmt: skip


def _array_args(S):
    """The vector type for S, or None if S is not a C-contiguous float64/float32 array."""
    if isinstance(S, types.Array) and S.dtype in (types.float64, types.float32):
        if S.layout == "C":
            return _Vec(S.dtype)
    return None


def _slots(context, builder, array_type, array, vt):
    """slot(row, g): a pointer to vector g of row ``row`` (an int or an i64 value) of the
    array, whose rows hold GROUPS vectors of type ``vt``."""
    data = context.make_array(array_type)(context, builder, array).data
    base = builder.bitcast(data, vt.ty.as_pointer())

    def slot(row, g):
        if isinstance(row, int):
            return builder.gep(base, [ir.Constant(_I64, row * GROUPS + g)])
        index = builder.add(builder.mul(row, ir.Constant(_I64, GROUPS)), ir.Constant(_I64, g))
        return builder.gep(base, [index])

    return slot


@intrinsic
def dynamics_burst(typingctx, S, n, r, optimizer):
    """Advance the lanes of a 2-coordinate ``S`` by n steps (see the module docstring).

    ``S``: float64 or float32, C-contiguous, ``n_rows(2) * nl``; ``n``, ``r``,
    ``optimizer``: int64.
    """
    vt = _array_args(S)
    if vt is None:
        return None
    sig = types.none(S, types.int64, types.int64, types.int64)

    def codegen(context, builder, signature, args):
        array, n, r, optimizer = args
        slot = _slots(context, builder, signature.args[0], array, vt)

        for i in (0, 1):  # the checkpoint rotation
            for q in range(3):
                for g in range(GROUPS):
                    cur = builder.load(slot(coord_row(i, CK_CUR + q), g), align=8)
                    builder.store(cur, slot(coord_row(i, CK_PREV + q), g), align=8)
                    now = builder.load(slot(coord_row(i, W + q), g), align=8)
                    builder.store(now, slot(coord_row(i, CK_CUR + q), g), align=8)
        var = {}
        for name in {**_IN, **_OUT}:
            for g in range(GROUPS):
                var[name, g] = cgutils.alloca_once(builder, vt.ty)
                if name in _IN:
                    builder.store(builder.load(slot(_IN[name], g), align=8), var[name, g])
                else:
                    builder.store(vt.const(0.0), var[name, g])
        for code in (GD, HEAVY_BALL, NESTEROV):
            is_code = builder.icmp_signed("==", optimizer, ir.Constant(_I64, code))
            with builder.if_then(is_code):
                _emit_loop(builder, vt, code, var, n, r)
        # the end of a block: a coordinate at the floor is set to the minimum; frz = 1
        # where one that was not at it when the burst started got there (a newly frozen
        # coordinate; anyfrz: any in the lane)
        zero, one, floor = vt.const(0.0), vt.const(1.0), vt.const(vt.floor)
        for g in range(GROUPS):
            anyfrz = None
            for i in (0, 1):
                w = builder.load(var[f"w{i}", g])
                tiny = builder.fcmp_ordered("<=", builder.fmul(w, w), floor)
                builder.store(builder.select(tiny, zero, w), var[f"w{i}", g])
                v = builder.load(var[f"v{i}", g])
                builder.store(builder.select(tiny, zero, v), var[f"v{i}", g])
                w0 = builder.load(slot(coord_row(i, CK_CUR), g), align=8)
                new = builder.and_(tiny, builder.fcmp_unordered("!=", w0, zero))
                builder.store(builder.select(new, one, zero), var[f"frz{i}", g])
                anyfrz = new if anyfrz is None else builder.or_(anyfrz, new)
            var["anyfrz", g] = cgutils.alloca_once(builder, vt.ty)
            builder.store(builder.select(anyfrz, one, zero), var["anyfrz", g])
        for name, row in _OUT.items():
            for g in range(GROUPS):
                builder.store(builder.load(var[name, g]), slot(row, g), align=8)
        return context.get_dummy_value()

    return sig, codegen


# ---------------------------------------------------------------------------------------
# Window replay: the rate-window sums of NL single coordinates, from their checkpoints
# ---------------------------------------------------------------------------------------

# rows of Q (NL jobs; one job = one coordinate of one trajectory)
Q_ETA, Q_BETA, Q_LAM, Q_SIGMA, Q_W, Q_V, Q_F1, Q_KMIN, Q_M = range(9)
Q_PREV = 9  # 5 rows: xx, xf, ff, rxf, rff over replayed steps k = 1 .. block
Q_CUR = 14  # 5 rows: the same over k = block + 1 .. m
Q_ROWS = 19

_Q_IN = {
    "eta": Q_ETA, "beta": Q_BETA, "lam": Q_LAM, "sigma": Q_SIGMA, "w": Q_W, "v": Q_V,
    "f1": Q_F1, "kmin": Q_KMIN, "m": Q_M,
}  # fmt: skip


def _emit_replay_loop(builder, optimizer, var, k_first, count):
    """Steps k = k_first .. k_first + count - 1 of every job, adding each step's equation
    to the sums ``var["acc", j, g]`` where kmin <= k <= m (a select: other lanes keep
    their sums bit for bit)."""
    zero = _F64.const(0.0)
    with cgutils.for_range(builder, count) as loop:
        k = builder.add(loop.index, k_first)
        kv = _F64.index(builder, k)
        for g in range(GROUPS):

            def get(name, g=g):
                return builder.load(var[name, g])

            def put(name, value, g=g):
                builder.store(value, var[name, g])

            x1, f1 = get("w"), get("f1")
            w, v = _emit_step(builder, optimizer, get("eta"), get("beta"), get("lam"), x1, get("v"))
            f = builder.fsub(w, builder.fmul(get("sigma"), x1))  # F_t = x_t - sigma x_{t-1}
            alive = builder.fcmp_ordered("<=", kv, get("m"))
            on = builder.and_(builder.fcmp_ordered(">=", kv, get("kmin")), alive)
            terms = [builder.fmul(x1, x1), None, None, builder.fmul(f, x1), None]
            if optimizer != GD:  # order 2
                terms[1] = builder.fmul(x1, f1)
                terms[2] = builder.fmul(f1, f1)
                terms[4] = builder.fmul(f, f1)
            for j, term in enumerate(terms):
                if term is not None:
                    acc = var["acc", j, g]
                    a = builder.load(acc)
                    builder.store(builder.select(on, builder.fadd(a, term), a), acc)
            # a job past its last step stops at 0: no subnormal numbers in idle lanes
            put("w", builder.select(alive, w, zero))
            put("v", builder.select(alive, v, zero))
            put("f1", f)


@intrinsic
def window_sums(typingctx, Q, n, block, optimizer):
    """Replay NL rate windows side by side and leave their sums in ``Q``.

    Job (lane) j starts from a checkpoint at step t0 of its trajectory: row Q_W = w_t0,
    Q_V = v_t0, Q_F1 = F_t0 = w_t0 - sigma w_{t0 - 1} (0 if t0 = 0), with its eta, beta,
    lambda and first-step sign sigma. Replayed step k = 1 .. n is the trajectory's step
    t0 + k, computed exactly as ``dynamics_burst`` does; its equation (``metrics``:
    x1 = x_{t-1}, F1 = F_{t-1}, F_t) enters the sums where Q_KMIN <= k <= Q_M, the rows
    Q_PREV for k <= block and Q_CUR after. n is the largest Q_M. Unused lanes: Q_M = 0.
    """
    if not (isinstance(Q, types.Array) and Q.dtype == types.float64 and Q.layout == "C"):
        return None
    sig = types.none(Q, types.int64, types.int64, types.int64)

    def codegen(context, builder, signature, args):
        array, n, block, optimizer = args
        slot = _slots(context, builder, signature.args[0], array, _F64)

        var = {}
        for g in range(GROUPS):
            for name, row in _Q_IN.items():
                var[name, g] = cgutils.alloca_once(builder, _F64.ty)
                builder.store(builder.load(slot(row, g), align=8), var[name, g])
            for j in range(5):
                var["acc", j, g] = cgutils.alloca_once(builder, _F64.ty)
        one = ir.Constant(_I64, 1)
        first = builder.select(builder.icmp_signed("<", n, block), n, block)
        for code in (GD, HEAVY_BALL, NESTEROV):
            with builder.if_then(builder.icmp_signed("==", optimizer, ir.Constant(_I64, code))):
                for k_first, count, row in (
                    (one, first, Q_PREV),
                    (builder.add(block, one), builder.sub(n, block), Q_CUR),
                ):
                    for g in range(GROUPS):
                        for j in range(5):
                            builder.store(_F64.const(0.0), var["acc", j, g])
                    _emit_replay_loop(builder, code, var, k_first, count)
                    for g in range(GROUPS):
                        for j in range(5):
                            value = builder.load(var["acc", j, g])
                            builder.store(value, slot(row + j, g), align=8)
        return context.get_dummy_value()

    return sig, codegen


# ---------------------------------------------------------------------------------------
# Any d: the coordinates' state stays in S (memory), the lane state in registers
# ---------------------------------------------------------------------------------------


def _emit_loop_d(builder, vt, optimizer, var, d, n, r, slot, crow):
    """``_emit_loop`` for d coordinates: an inner loop over them inside each step."""
    half, zero = vt.const(0.5), vt.const(0.0)
    with cgutils.for_range(builder, n) as loop:
        k_int = builder.add(loop.index, ir.Constant(_I64, 1))
        k = vt.index(builder, k_int)
        for g in range(GROUPS):
            builder.store(zero, var["s", g])
        with cgutils.for_range(builder, d) as coord:
            i = coord.index
            for g in range(GROUPS):
                lam = builder.load(slot(crow(i, LAM), g), align=8)
                w = builder.load(slot(crow(i, W), g), align=8)
                builder.store(w, slot(crow(i, WP), g), align=8)
                eta, beta = builder.load(var["eta", g]), builder.load(var["beta", g])
                v = builder.load(slot(crow(i, V), g), align=8)
                w, v = _emit_step(builder, optimizer, eta, beta, lam, w, v)
                builder.store(w, slot(crow(i, W), g), align=8)
                if optimizer != GD:
                    builder.store(v, slot(crow(i, V), g), align=8)
                s = builder.fadd(builder.load(var["s", g]), builder.fmul(lam, builder.fmul(w, w)))
                builder.store(s, var["s", g])
        losses = [builder.fmul(half, builder.load(var["s", g])) for g in range(GROUPS)]
        _emit_stop_tests(builder, vt, var, losses, k, k_int, r)


@intrinsic
def dynamics_burst_d(typingctx, S, d, n, r, optimizer):
    """``dynamics_burst`` for any number d of coordinates (``S``: ``n_rows(d) * nl``).

    The lane state (eta, beta, thresholds, the loss and the stop records) is held in
    registers; each step loops over the coordinates, whose w, v, lambda stay in ``S``
    (64 coordinates would not fit in registers), in coordinate order for the loss.
    """
    vt = _array_args(S)
    if vt is None:
        return None
    sig = types.none(S, types.int64, types.int64, types.int64, types.int64)

    def codegen(context, builder, signature, args):
        array, d, n, r, optimizer = args
        slot = _slots(context, builder, signature.args[0], array, vt)

        def crow(i, q):
            return builder.add(
                builder.mul(i, ir.Constant(_I64, COORD_ROWS)), ir.Constant(_I64, LANE_ROWS + q)
            )

        with cgutils.for_range(builder, d) as coord:  # the checkpoint rotation
            i = coord.index
            for q in range(3):
                for g in range(GROUPS):
                    cur = builder.load(slot(crow(i, CK_CUR + q), g), align=8)
                    builder.store(cur, slot(crow(i, CK_PREV + q), g), align=8)
                    now = builder.load(slot(crow(i, W + q), g), align=8)
                    builder.store(now, slot(crow(i, CK_CUR + q), g), align=8)
        var = {}
        for g in range(GROUPS):
            for name in ("eta", "beta", "conv", "div", "stopk", "stoploss", "lossr", "s", "anyfrz"):
                var[name, g] = cgutils.alloca_once(builder, vt.ty)
                if name in _LANE_IN:
                    builder.store(builder.load(slot(_LANE_IN[name], g), align=8), var[name, g])
                else:
                    builder.store(vt.const(0.0), var[name, g])
        for code in (GD, HEAVY_BALL, NESTEROV):
            is_code = builder.icmp_signed("==", optimizer, ir.Constant(_I64, code))
            with builder.if_then(is_code):
                _emit_loop_d(builder, vt, code, var, d, n, r, slot, crow)
        # the end of a block, as in dynamics_burst
        zero, one, floor = vt.const(0.0), vt.const(1.0), vt.const(vt.floor)
        with cgutils.for_range(builder, d) as coord:
            i = coord.index
            for g in range(GROUPS):
                w = builder.load(slot(crow(i, W), g), align=8)
                tiny = builder.fcmp_ordered("<=", builder.fmul(w, w), floor)
                builder.store(builder.select(tiny, zero, w), slot(crow(i, W), g), align=8)
                v = builder.load(slot(crow(i, V), g), align=8)
                builder.store(builder.select(tiny, zero, v), slot(crow(i, V), g), align=8)
                w0 = builder.load(slot(crow(i, CK_CUR), g), align=8)
                new = builder.and_(tiny, builder.fcmp_unordered("!=", w0, zero))
                builder.store(builder.select(new, one, zero), slot(crow(i, FRZ), g), align=8)
                anyfrz = builder.load(var["anyfrz", g])
                builder.store(builder.select(new, one, anyfrz), var["anyfrz", g])
        for name, row in _LANE_OUT.items():
            for g in range(GROUPS):
                builder.store(builder.load(var[name, g]), slot(row, g), align=8)
        return context.get_dummy_value()

    return sig, codegen
