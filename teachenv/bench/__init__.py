"""Benchmarks of teacher agents: suites of episodes (``teachenv bench``) and the leaderboard over their run directories (``teachenv leaderboard``)."""
