"""Bjøntegaard delta rate (BD-rate) with PCHIP interpolation, standard library only.

The method (Bjøntegaard, VCEG-M33; the piecewise-cubic variant used by the JVET and AOM common test conditions):
each rate-distortion curve is the set of points (quality, rate) of one encoder at several quantisers. Log-rate is
interpolated as a function of quality with a monotone piecewise cubic Hermite interpolant (PCHIP), each curve is
integrated over the quality interval that both curves cover, and the difference of the two mean log-rates is turned
back into a ratio:

    BD-rate = exp(mean(ln R_test) - mean(ln R_anchor)) - 1      (in %; negative: fewer bits than the anchor)

The tangents are Fritsch–Carlson monotone tangents in the Fritsch–Butland weighted-harmonic-mean form, with the
three-point, shape-preserving end conditions — the same interpolant as SciPy's PchipInterpolator. Integrals are
exact (each Hermite segment is integrated as a polynomial).
"""

from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple


class BdRateError(ValueError):
    """A BD-rate that cannot be computed (too few points, repeated quality values, curves that do not overlap)."""


def _sign(v: float) -> int:
    return (v > 0) - (v < 0)


def pchip_slopes(xs: Sequence[float], ys: Sequence[float]) -> list[float]:
    """Monotone tangents at each knot; xs strictly increasing, at least two knots."""
    n = len(xs)
    if n != len(ys):
        raise BdRateError("x and y differ in length")
    if n < 2:
        raise BdRateError("need at least two points")
    h = [xs[k + 1] - xs[k] for k in range(n - 1)]
    if any(not hk > 0 for hk in h):
        raise BdRateError("x values must be strictly increasing")
    d = [(ys[k + 1] - ys[k]) / h[k] for k in range(n - 1)]
    if n == 2:
        return [d[0], d[0]]
    m = [0.0] * n
    for k in range(1, n - 1):
        if d[k - 1] * d[k] <= 0:
            m[k] = 0.0
        else:
            w1 = 2 * h[k] + h[k - 1]
            w2 = h[k] + 2 * h[k - 1]
            m[k] = (w1 + w2) / (w1 / d[k - 1] + w2 / d[k])
    m[0] = _edge_slope(h[0], h[1], d[0], d[1])
    m[-1] = _edge_slope(h[-1], h[-2], d[-1], d[-2])
    return m


def _edge_slope(h0: float, h1: float, d0: float, d1: float) -> float:
    """One-sided three-point tangent, clipped so the end segment stays monotone."""
    s = ((2 * h0 + h1) * d0 - h0 * d1) / (h0 + h1)
    if _sign(s) != _sign(d0):
        return 0.0
    if _sign(d0) != _sign(d1) and abs(s) > 3 * abs(d0):
        return 3 * d0
    return s


def _segment_coeffs(x0, x1, y0, y1, m0, m1):
    """Power-form coefficients (a, b, c, d) of the Hermite cubic a + b t + c t^2 + d t^3, t = x - x0."""
    h = x1 - x0
    delta = (y1 - y0) / h
    c = (3 * delta - 2 * m0 - m1) / h
    d = (m0 + m1 - 2 * delta) / (h * h)
    return y0, m0, c, d


def pchip_eval(xs: Sequence[float], ys: Sequence[float], x: float) -> float:
    """Value of the PCHIP interpolant at x (x inside [xs[0], xs[-1]])."""
    m = pchip_slopes(xs, ys)
    if not xs[0] <= x <= xs[-1]:
        raise BdRateError(f"{x} is outside [{xs[0]}, {xs[-1]}]")
    k = max(i for i in range(len(xs) - 1) if xs[i] <= x) if x < xs[-1] else len(xs) - 2
    a, b, c, d = _segment_coeffs(xs[k], xs[k + 1], ys[k], ys[k + 1], m[k], m[k + 1])
    t = x - xs[k]
    return a + t * (b + t * (c + t * d))


def pchip_integral(xs: Sequence[float], ys: Sequence[float], lo: float, hi: float) -> float:
    """Exact integral of the PCHIP interpolant over [lo, hi], a sub-interval of [xs[0], xs[-1]]."""
    if not xs[0] <= lo <= hi <= xs[-1]:
        raise BdRateError(f"[{lo}, {hi}] is not inside [{xs[0]}, {xs[-1]}]")
    m = pchip_slopes(xs, ys)
    total = 0.0
    for k in range(len(xs) - 1):
        a_x, b_x = max(lo, xs[k]), min(hi, xs[k + 1])
        if b_x <= a_x:
            continue
        a, b, c, d = _segment_coeffs(xs[k], xs[k + 1], ys[k], ys[k + 1], m[k], m[k + 1])

        def prim(t: float) -> float:
            return t * (a + t * (b / 2 + t * (c / 3 + t * d / 4)))

        total += prim(b_x - xs[k]) - prim(a_x - xs[k])
    return total


def _curve(points: Sequence[Tuple[float, float]], what: str) -> Tuple[list[float], list[float]]:
    """(rate, quality) points -> (quality, ln rate) knots sorted by quality."""
    pts = [(float(q), float(r)) for r, q in points]
    if len(pts) < 2:
        raise BdRateError(f"{what}: need at least two points, have {len(pts)}")
    for q, r in pts:
        if not r > 0 or not math.isfinite(r):
            raise BdRateError(f"{what}: rate {r} is not a positive number")
        if not math.isfinite(q):
            raise BdRateError(f"{what}: quality {q} is not finite")
    pts.sort()
    xs = [q for q, _ in pts]
    if any(xs[k + 1] <= xs[k] for k in range(len(xs) - 1)):
        raise BdRateError(f"{what}: two points have the same quality")
    return xs, [math.log(r) for _, r in pts]


def bd_rate(anchor: Sequence[Tuple[float, float]], test: Sequence[Tuple[float, float]]) -> float:
    """BD-rate of `test` against `anchor` in percent; each is a sequence of (rate, quality) points.

    Rate is any positive size measure (bytes, bits/s: only ratios matter); quality is e.g. PSNR-Y in dB.
    Raises BdRateError when the curves cannot be compared.
    """
    xa, ya = _curve(anchor, "anchor")
    xt, yt = _curve(test, "test")
    lo, hi = max(xa[0], xt[0]), min(xa[-1], xt[-1])
    if not hi > lo:
        raise BdRateError(
            f"quality ranges do not overlap (anchor {xa[0]:.2f}..{xa[-1]:.2f}, test {xt[0]:.2f}..{xt[-1]:.2f})"
        )
    mean_a = pchip_integral(xa, ya, lo, hi) / (hi - lo)
    mean_t = pchip_integral(xt, yt, lo, hi) / (hi - lo)
    return (math.exp(mean_t - mean_a) - 1) * 100


def try_bd_rate(anchor, test) -> Tuple[Optional[float], Optional[str]]:
    """bd_rate, or (None, reason) where it cannot be computed."""
    try:
        return bd_rate(anchor, test), None
    except BdRateError as e:
        return None, str(e)
