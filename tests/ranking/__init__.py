"""Ranking tests: pure scoring, blending, explain, weights and offline metrics, with no engine."""
