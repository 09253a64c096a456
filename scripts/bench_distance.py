"""Python distances: app.search.geo.distance_km against geopy's great_circle and geodesic (time per call, agreement).

    python scripts/bench_distance.py [--pairs 200000]

Prints one JSON line: µs per call of each, and the largest gaps to geopy. geopy is a dev dependency
(requirements-dev.txt); the service's distances stay in app.search.geo (see README, "Distances").
"""
from __future__ import annotations

import argparse
import json
import random
import time

from geopy.distance import geodesic, great_circle

from app.search.geo import EARTH_RADIUS_KM, distance_km


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=200_000)
    args = parser.parse_args()
    rng = random.Random(1)
    # Metropolitan France and a search radius's worth around it: the distances the service measures.
    pairs = [(rng.uniform(41.3, 51.1), rng.uniform(-5.2, 9.6), rng.uniform(41.3, 51.1), rng.uniform(-5.2, 9.6))
             for _ in range(args.pairs)]

    def timed(fn) -> tuple[float, list[float]]:
        started = time.perf_counter()
        out = [fn(a, b, c, d) for a, b, c, d in pairs]
        return (time.perf_counter() - started) / len(pairs) * 1e6, out

    ours_us, ours = timed(distance_km)
    gc_us, gc = timed(lambda a, b, c, d: great_circle((a, b), (c, d), radius=EARTH_RADIUS_KM).km)
    few = pairs[: max(1, len(pairs) // 10)]  # geodesic is slow: a tenth of the pairs
    started = time.perf_counter()
    geo = [geodesic((a, b), (c, d)).km for a, b, c, d in few]
    geodesic_us = (time.perf_counter() - started) / len(few) * 1e6
    print(json.dumps({
        "pairs": len(pairs), "ours_us": round(ours_us, 3), "great_circle_us": round(gc_us, 3),
        "geodesic_us": round(geodesic_us, 3),
        "max_gap_great_circle_km": max(abs(x - y) for x, y in zip(ours, gc)),
        "max_gap_geodesic_km": max(abs(x - y) for x, y in zip(ours, geo)),
    }))


if __name__ == "__main__":
    main()
