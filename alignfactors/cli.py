"""Command line: ``alignfactors report|agreement|dimensions|decompose|aggregate|trend``.

A thin layer: parse the arguments, call the public functions, write or print, return an exit
code. It holds no statistics. Errors the user can fix (any :class:`AlignFactorsError`, and
``OSError`` for files and output directories) print one line
``alignfactors: error: <message>`` and exit with 2; anything else exits with 1 and asks for
``--debug``, which shows the traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
import warnings
from pathlib import Path
from typing import Sequence

from .errors import AlignFactorsError, ParameterError

__all__ = ["main", "build_parser"]

PROG = "alignfactors"


def _common(p: argparse.ArgumentParser, *, input_optional: bool = False) -> None:
    if input_optional:
        p.add_argument("input", nargs="?", metavar="INPUT",
                       help="Brain-Score export or a wide/long CSV; omit to use the built-in simulated leaderboard")
    else:
        p.add_argument("input", metavar="INPUT", help="Brain-Score export or a wide/long CSV")
    p.add_argument("--n-boot", type=int, default=2000, metavar="N", help="bootstrap resamples (default 2000)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    p.add_argument("--domains", metavar="FILE", help="CSV metric,domain for a generic table")
    p.add_argument("--quiet", action="store_true", help="no progress bars or notes on stderr")
    p.add_argument("--debug", action="store_true", help="show the full traceback on errors")


def _clusters_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--clusters", default="auto", metavar="UNIT",
                   help="resampling unit: auto (families when model names show near-copies, as in Brain-Score "
                        "exports; default), families, architecture, none (models), or FILE.csv with columns "
                        "model_id,family")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(
        prog=PROG, description="Do model-brain alignment metrics measure the same thing?")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("report", help="run every analysis; write report.md, figures/ and results.json")
    _common(p, input_optional=True)
    p.add_argument("--out", required=True, metavar="DIR", help="output directory (replaced atomically)")
    p.add_argument("--config", metavar="FILE", help="JSON or TOML file with report option overrides")
    _clusters_option(p)

    for name, text in (("agreement", "correlations between metrics: mean and domain blocks"),
                       ("dimensions", "how many dimensions: eigenvalues and rules for k"),
                       ("decompose", "variance of an aggregate explained by its parts")):
        p = sub.add_parser(name, help=text)
        _common(p)
        _clusters_option(p)
        if name == "decompose":
            p.add_argument("--aggregate", default="average_vision", help="aggregate column (default average_vision)")
    p = sub.add_parser("aggregate", help="one score and rank per model under an aggregation rule")
    _common(p)
    p.add_argument("--method", default="brainscore", metavar="M", help="aggregation rule (default brainscore)")
    p.add_argument("--top", type=int, default=20, help="models to print (default 20; 0 = all)")
    p = sub.add_parser("trend", help="the headline analyses on the leaderboard as it stood at "
                                     "several dates (needs timestamps: the snapshot JSON)")
    _common(p)
    p.add_argument("--dates", required=True, metavar="D1,D2,...",
                   help="comma-separated dates YYYY-MM-DD")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="output directory: trend.md, trend.png, trend.json")
    p.add_argument("--aggregate", default="average_vision",
                   help="aggregate whose R² on each part is followed (default average_vision)")
    p.add_argument("--clusters", default=None, metavar="UNIT",
                   help="resampling unit: 'families' or 'architecture' (default: models)")
    return parser


def _read_config(path: str) -> dict:
    p = Path(path)
    raw = p.read_bytes()
    try:
        if p.suffix.lower() == ".toml":
            import tomllib

            data = tomllib.loads(raw.decode("utf-8"))
        else:
            data = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParameterError(f"--config {path}: not valid {'TOML' if p.suffix.lower() == '.toml' else 'JSON'} "
                             f"({exc}); write a JSON object or TOML table of report options.") from None
    if not isinstance(data, dict):
        raise ParameterError(f"--config {path}: expected a JSON object / TOML table of options; got "
                             f"{type(data).__name__}.")
    return data


def _load(args):
    from .loading import load_table

    return load_table(args.input, domains=args.domains)


def _clusters(args, table):
    """The ``clusters=`` argument from ``--clusters``: a keyword, or a CSV model_id,family read into a Series."""
    import pandas as pd

    value = args.clusters
    if value in ("auto", "families", "architecture", "none"):
        if value == "auto":
            from .families import cluster_labels

            lab = cluster_labels("auto", table.scores.index, table)
            return None if lab is None else "families"
        return None if value == "none" else value
    path = Path(value)
    if not path.is_file():
        raise ParameterError(f"--clusters {value!r}: not auto, families, architecture, none or an existing CSV file "
                             "(columns model_id,family).")
    frame = pd.read_csv(path, dtype=str)
    if list(frame.columns[:2]) != ["model_id", "family"] and not {"model_id", "family"} <= set(frame.columns):
        raise ParameterError(f"--clusters {value}: the CSV needs columns model_id,family; got {list(frame.columns)}.")
    if frame["model_id"].duplicated().any():
        dup = frame.loc[frame["model_id"].duplicated(), "model_id"].tolist()[:5]
        raise ParameterError(f"--clusters {value}: model_id {dup} appear more than once; give one family per model.")
    return frame.set_index("model_id")["family"]


def _unit_note(args, est) -> None:
    what = {"model": "models", "cluster": "clusters of models"}.get(est.unit, f"{est.unit} clusters of models")
    _note(args, f"intervals resample {est.n_units} {what} (--clusters {args.clusters}).")


def _note(args, text: str) -> None:
    if not args.quiet:
        print(f"{PROG}: {text}", file=sys.stderr)


def _cmd_report(args) -> int:
    from .report import report

    options = _read_config(args.config) if args.config else {}
    for key in ("n_boot", "seed"):
        if key in options:
            raise ParameterError(f"--config: set {key} with --{key.replace('_', '-')}, not in the config file.")
    if args.input is None:
        from .datasets import simulate_leaderboard

        _note(args, "no INPUT given: running on the built-in simulated leaderboard "
                    "(alignfactors.datasets.simulate_leaderboard()); the numbers describe no real models.")
        table, source, simulated = simulate_leaderboard(), None, True
    else:
        table, source, simulated = _load(args), args.input, False
    if "clusters" not in options or args.clusters != "auto":
        options["clusters"] = _clusters(args, table) if args.clusters != "auto" else "auto"
    out = report(table, out=args.out, n_boot=args.n_boot, seed=args.seed, progress=not args.quiet,
                 simulated=simulated, source=source, **options)
    _note(args, f"wrote {out / 'report.md'}, {out / 'results.json'} and {out / 'figures'}/")
    return 0


def _cmd_agreement(args) -> int:
    from .agreement import agreement
    from .cleaning import clean

    table = _load(args)
    c = clean(table)
    res = agreement(c.matrix, groups=c.domains if c.domains.notna().all() else None, n_boot=args.n_boot,
                    seed=args.seed, progress=not args.quiet, clusters=_clusters(args, table))
    print(res.summary())
    _unit_note(args, res.mean)
    return 0


def _cmd_dimensions(args) -> int:
    from .cleaning import clean
    from .dimensions import dimensionality

    table = _load(args)
    c = clean(table)
    res = dimensionality(c.matrix, n_boot=args.n_boot, seed=args.seed, progress=not args.quiet,
                         clusters=_clusters(args, table))
    print(res.summary())
    _unit_note(args, res.participation_ratio)
    return 0


def _cmd_decompose(args) -> int:
    from .decomposition import decompose

    table = _load(args)
    res = decompose(table, aggregate=args.aggregate, n_boot=args.n_boot, seed=args.seed,
                    progress=not args.quiet, clusters=_clusters(args, table))
    print(res.summary())
    _unit_note(args, res.r2_joint)
    return 0


def _cmd_aggregate(args) -> int:
    import pandas as pd

    from ._render import text_table
    from .aggregation import aggregate, rank_models

    table = _load(args)
    scores = aggregate(table, method=args.method)
    frame = pd.DataFrame({"rank": rank_models(scores), "model_id": scores.index,
                          "model_name": table.models["model_name"].reindex(scores.index), args.method: scores})
    frame = frame.sort_values("rank", kind="stable", na_position="last")
    if args.top:
        frame = frame.head(args.top)
    print(f"{args.method} aggregate of {len(scores)} models (rank 1 = best); showing {len(frame)}")
    print(text_table(frame.reset_index(drop=True)))
    return 0


def _cmd_trend(args) -> int:
    from .trend import trend

    table = _load(args)
    res = trend(table, args.dates, aggregate=args.aggregate, n_boot=args.n_boot, seed=args.seed,
                clusters=args.clusters, progress=not args.quiet)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cmd = (f"alignfactors trend {Path(args.input).name} --dates {','.join(res.dates)} "
           f"--n-boot {args.n_boot} --seed {args.seed}"
           + (f" --clusters {args.clusters}" if args.clusters else ""))
    (out / "trend.md").write_text(
        f"# Leaderboard over time: {Path(args.input).name}\n\n"
        f"Command: `{cmd}`\n\n"
        "Each date is the leaderboard as it stood then (scores computed later removed, "
        "aggregates recomputed with the website's rule), cleaned and analysed on its own; "
        "intervals resample its models (or clusters).\n\n"
        f"{res.to_markdown()}\n\n![trend](trend.png)\n", encoding="utf-8")
    res.plot(out / "trend.png")
    (out / "trend.json").write_text(json.dumps(res.to_dict(), indent=1, sort_keys=False),
                                    encoding="utf-8")
    print(res.summary())
    _note(args, f"wrote {out / 'trend.md'}, {out / 'trend.png'} and {out / 'trend.json'}")
    return 0


_COMMANDS = {"report": _cmd_report, "agreement": _cmd_agreement, "dimensions": _cmd_dimensions,
             "decompose": _cmd_decompose, "aggregate": _cmd_aggregate, "trend": _cmd_trend}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``alignfactors`` console script; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: 2 for usage errors, 0 for --help
        return int(exc.code or 0)
    try:
        with warnings.catch_warnings():
            if args.quiet:
                warnings.simplefilter("ignore")
            return _COMMANDS[args.command](args)
    except (AlignFactorsError, OSError) as exc:
        if args.debug:
            traceback.print_exc()
        msg = str(exc) if not isinstance(exc, OSError) or exc.filename is None else \
            f"{exc.strerror or exc}: {exc.filename} (check the path and its permissions)"
        print(f"{PROG}: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the CLI's last line of defence
        if args.debug:
            traceback.print_exc()
        print(f"{PROG}: unexpected error ({type(exc).__name__}: {exc}); rerun with --debug", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
