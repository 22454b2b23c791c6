"""Write tests/data/llm_board.csv: a CONSTRUCTED leaderboard with the structure of the Open LLM
Leaderboard v1 (Hugging Face; archived): one row per model, an overall ``Average`` first, then six
benchmark scores in percent (ARC, HellaSwag, MMLU, TruthfulQA, Winogrande, GSM8K), printed to 2
decimals, the Average being the mean of the six rounded to 2 decimals, as on the website.

The numbers are simulated (seed 0), not the published ones: a general ability factor plus a
benchmark-specific part, with TruthfulQA loading less on the general factor (as on the real
board). Run from the project root: ``python tests/data/make_llm_board.py``.
"""

from pathlib import Path

import numpy as np
import pandas as pd

BENCH = {  # mean, spread, loading on the general factor
    "ARC": (58.0, 8.0, 0.92),
    "HellaSwag": (80.0, 5.0, 0.90),
    "MMLU": (58.0, 9.0, 0.88),
    "TruthfulQA": (50.0, 7.0, 0.55),
    "Winogrande": (76.0, 4.5, 0.85),
    "GSM8K": (35.0, 15.0, 0.80),
}


def main() -> None:
    rng = np.random.default_rng(0)
    n = 70
    g = rng.normal(size=n)
    cols = {}
    for name, (mu, sd, lam) in BENCH.items():
        z = lam * g + np.sqrt(1 - lam ** 2) * rng.normal(size=n)
        cols[name] = np.round(np.clip(mu + sd * z, 0, 100), 2)
    board = pd.DataFrame(cols)
    board.insert(0, "Average", board.mean(axis=1).round(2))
    board.insert(0, "model", [f"org-{i % 9}/llm-{i:02d}" for i in range(n)])
    board = board.sort_values("Average", ascending=False)
    out = Path(__file__).with_name("llm_board.csv")
    board.to_csv(out, index=False, float_format="%.2f")


if __name__ == "__main__":
    main()
