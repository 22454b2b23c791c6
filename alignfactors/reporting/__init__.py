"""The report: run every analysis (:mod:`.run`), render the results as markdown (:mod:`._render`,
:mod:`._reliability_section`) and figures (:mod:`.figures`). It renders results and computes no
statistic of its own; only the CLI imports it."""
