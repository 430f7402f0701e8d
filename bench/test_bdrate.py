"""Unit tests of bench/bdrate.py (run: python3 -m unittest bench/test_bdrate.py, or by bench.py --smoke)."""

import math
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bdrate import BdRateError, bd_rate, pchip_eval, pchip_integral, pchip_slopes, try_bd_rate  # noqa: E402

# A realistic anchor curve: (bytes, PSNR-Y) at qp 22/27/32/37.
ANCHOR = [(2_400_000, 44.1), (1_150_000, 40.3), (520_000, 36.6), (240_000, 33.2)]


class PchipTest(unittest.TestCase):
    def test_interpolates_knots(self):
        xs, ys = [0.0, 1.0, 2.5, 4.0], [1.0, 3.0, 2.0, 7.0]
        for x, y in zip(xs, ys):
            self.assertAlmostEqual(pchip_eval(xs, ys, x), y, places=12)

    def test_reproduces_linear_data(self):
        xs = [30.0, 33.5, 36.0, 41.0]
        ys = [2 * x - 5 for x in xs]
        self.assertEqual([round(m, 12) for m in pchip_slopes(xs, ys)], [2.0] * 4)
        self.assertAlmostEqual(pchip_eval(xs, ys, 34.2), 2 * 34.2 - 5, places=10)
        # integral of 2x - 5 over [31, 40] = [x^2 - 5x]
        self.assertAlmostEqual(pchip_integral(xs, ys, 31.0, 40.0), (40**2 - 200) - (31**2 - 155), places=9)

    def test_hand_computed_values(self):
        # x = 0, 1, 2; y = 0, 1, 4: slopes 0 (end clipped to 0), 1.5 (harmonic mean), 4 (three-point end).
        self.assertEqual(pchip_slopes([0, 1, 2], [0, 1, 4]), [0.0, 1.5, 4.0])
        self.assertAlmostEqual(pchip_eval([0, 1, 2], [0, 1, 4], 0.5), 0.3125, places=12)

    def test_monotone_data_gives_monotone_interpolant(self):
        xs = [0.0, 1.0, 1.1, 5.0, 6.0]
        ys = [0.0, 0.1, 5.0, 5.1, 9.0]
        prev = -math.inf
        for i in range(601):
            v = pchip_eval(xs, ys, 6.0 * i / 600)
            self.assertGreaterEqual(v, prev - 1e-12)
            prev = v

    def test_integral_matches_numerical_quadrature(self):
        xs, ys = [32.0, 35.5, 38.9, 42.7], [12.4, 13.3, 14.0, 14.9]
        lo, hi, n = 33.0, 41.0, 4000
        step = (hi - lo) / n
        simpson = pchip_eval(xs, ys, lo) + pchip_eval(xs, ys, hi)
        for i in range(1, n):
            simpson += (4 if i % 2 else 2) * pchip_eval(xs, ys, lo + i * step)
        simpson *= step / 3
        self.assertAlmostEqual(pchip_integral(xs, ys, lo, hi), simpson, places=6)


class BdRateTest(unittest.TestCase):
    def test_identical_curves_give_zero(self):
        self.assertAlmostEqual(bd_rate(ANCHOR, ANCHOR), 0.0, places=9)

    def test_ten_percent_fewer_bits_everywhere(self):
        test = [(0.9 * r, q) for r, q in ANCHOR]
        self.assertAlmostEqual(bd_rate(ANCHOR, test), -10.0, places=9)

    def test_double_rate_is_plus_100(self):
        test = [(2 * r, q) for r, q in ANCHOR]
        self.assertAlmostEqual(bd_rate(ANCHOR, test), 100.0, places=9)

    def test_order_of_points_does_not_matter(self):
        test = [(0.8 * r, q + 0.3) for r, q in ANCHOR]
        self.assertAlmostEqual(bd_rate(ANCHOR, test), bd_rate(ANCHOR, list(reversed(test))), places=12)

    def test_better_quality_at_same_rate_is_negative(self):
        test = [(r, q + 1.0) for r, q in ANCHOR]
        self.assertLess(bd_rate(ANCHOR, test), 0)

    def test_same_loglinear_model_with_other_knots_gives_zero(self):
        # ln R linear in PSNR; the curves are sampled at different, partly overlapping PSNRs.
        def rate(q):
            return math.exp(20 - 0.23 * q)

        anchor = [(rate(q), q) for q in (33.0, 36.0, 40.0, 44.0)]
        test = [(rate(q), q) for q in (35.0, 38.2, 41.7, 46.0, 49.0)]
        self.assertAlmostEqual(bd_rate(anchor, test), 0.0, places=9)

    def test_two_points_are_enough(self):
        test = [(0.9 * r, q) for r, q in ANCHOR[:2]]
        self.assertAlmostEqual(bd_rate(ANCHOR[:2], test), -10.0, places=9)

    def test_errors(self):
        with self.assertRaises(BdRateError):
            bd_rate(ANCHOR, [(1000, 60.0), (900, 61.0)])  # no overlap
        with self.assertRaises(BdRateError):
            bd_rate(ANCHOR, [(1000, 40.0)])  # one point
        with self.assertRaises(BdRateError):
            bd_rate(ANCHOR, [(1000, 40.0), (900, 40.0)])  # same PSNR twice
        with self.assertRaises(BdRateError):
            bd_rate(ANCHOR, [(0, 40.0), (900, 38.0)])  # zero rate
        value, reason = try_bd_rate(ANCHOR, [(1000, 60.0), (900, 61.0)])
        self.assertIsNone(value)
        self.assertIn("overlap", reason)


if __name__ == "__main__":
    unittest.main()
