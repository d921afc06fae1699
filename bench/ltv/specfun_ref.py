#!/usr/bin/env python3
"""Reference values for tests/unit/test_specfun.c, from mpmath at 30 digits.

Independent of our C code: mpmath sums 2F1 in arbitrary precision (it raises
rather than return a wrong value). Run: python3 bench/ltv/specfun_ref.py
(needs mpmath; Debian package python3-mpmath). Prints C initialisers.
"""
import mpmath as mp

mp.mp.dps = 30

HYP = [
    # BG/NBD E[X(t)] at the CDNOW estimates: 2F1(r, b; a+b-1; t/(alpha+t)).
    (0.243, 2.426, 0.793 + 2.426 - 1, 39 / (4.414 + 39)),
    (0.243, 2.426, 0.793 + 2.426 - 1, 0.999),
    (0.243, 2.426, 0.793 + 2.426 - 1, 1 - 1e-7),
    # BG/NBD conditional, x = 2 and x = 200, near z = 1.
    (0.243 + 2, 2.426 + 2, 0.793 + 2.426 + 2 - 1, 0.5),
    (0.243 + 200, 2.426 + 200, 0.793 + 2.426 + 200 - 1, 0.95),
    (0.243 + 200, 2.426 + 200, 0.793 + 2.426 + 200 - 1, 0.99999),
    # Pareto/NBD A0 shapes: 2F1(r+s+x, s+1; r+s+x+1; z).
    (0.553 + 0.606 + 5, 1.606, 0.553 + 0.606 + 6, 0.08),
    (0.553 + 0.606 + 10000, 1.606, 0.553 + 0.606 + 10001, 0.999),
    # c - a - b within 1e-12 and 1e-4 of an integer, z near 1.
    (0.7, 1.3, 2.0 + 1e-12, 0.999),
    (0.7, 1.3, 1.0 + 1e-4, 0.9999999),
    (0.7, 1.3, 5.0, 0.99),
    # a, b > c: terms grow before decaying; an integer polynomial case.
    (25.0, 30.0, 2.5, 0.6),
    (-3.0, 2.5, 1.5, 0.7),
]

DIGAMMA = [1.0, 0.5, 1e-3, 3.7, 10.0, 123.456, -0.5, -2.75]


def main():
    print("/* a, b, c, z, log|2F1|, sign (mpmath 30 digits) */")
    for a, b, c, z in HYP:
        v = mp.hyp2f1(mp.mpf(a), mp.mpf(b), mp.mpf(c), mp.mpf(z), maxterms=10**7)
        print("    {%r, %r, %r, %r, %s, %d}," % (a, b, c, z, mp.nstr(mp.log(abs(v)), 17),
                                                1 if v > 0 else -1))
    print("/* x, digamma(x) */")
    for x in DIGAMMA:
        print("    {%r, %s}," % (x, mp.nstr(mp.digamma(mp.mpf(x)), 17)))
    print("/* x, log|Gamma(x)|, sign */")
    for x in [0.5, 3.7, 171.5, -0.5, -2.75]:
        g = mp.gamma(mp.mpf(x))
        print("    {%r, %s, %d}," % (x, mp.nstr(mp.log(abs(g)), 17), 1 if g > 0 else -1))


if __name__ == "__main__":
    main()
