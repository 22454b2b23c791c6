"""Input/output: leaderboard files in (every Brain-Score layout and any wide or long table), the
:class:`ScoreTable` with its benchmark tree (inferred from the values), aggregate detection, and
the simulated leaderboards. Nothing here computes a statistic with an interval: the analyses
import this layer, never the other way round."""
