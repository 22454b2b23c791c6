"""Command line: ``alignfactors report|agreement|dimensions|decompose|aggregate|trend``.

A thin layer: parse the arguments, call the public functions, write or print, return an exit
code. It holds no statistics. Errors the user can fix (any :class:`AlignFactorsError`, a usage
error such as an unknown option, and ``OSError`` for files and output directories) print one
line ``alignfactors: error: <message>`` (with "did you mean ...?" for a mistyped option,
subcommand or config key) and exit with 2; anything else exits with 1 and asks for ``--debug``,
which shows the traceback. Warnings of the analyses print as one-line notes
``alignfactors: note: <message>``, never as a Python warning with a source line.

Every subcommand prints, before its table, which models and metrics it used and what it did
with missing values.

Adding a subcommand is one self-contained block: an options function and a run function
registered with :func:`command`::

    def _trend_options(p):
        _input_options(p)
        p.add_argument("--since", ...)

    @command("trend", "how scores changed between snapshots", options=_trend_options)
    def _cmd_trend(args) -> int:
        ...
        return 0

An option shared by every analysis goes into :func:`_input_options` (how the table is read) or
:func:`_resampling_options` (how intervals are computed).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from ._validation import did_you_mean
from .errors import AlignFactorsError, AlignFactorsWarning, ParameterError

__all__ = ["main", "build_parser", "command", "COMMANDS"]

PROG = "alignfactors"


# ------------------------------------------------------------------------------------------ parser
class UsageError(Exception):
    """A command-line usage error (exit code 2); the message is one line."""


class _Parser(argparse.ArgumentParser):
    """argparse that raises :class:`UsageError` (with a suggestion) instead of exiting."""

    def error(self, message):  # noqa: D401 - argparse's hook
        m = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if m:
            choices = re.findall(r"'([^']*)'", m.group(2))
            what = "command" if "COMMAND" in message else message.split(":", 1)[0].replace("argument ", "")
            message = (f"unknown {what} {m.group(1)!r}{did_you_mean(m.group(1), choices)}; "
                       f"choose from {', '.join(choices)}")
        where = self.prog.removeprefix(PROG).strip()
        raise UsageError(f"{where}: {message}" if where else message)


@dataclass(frozen=True)
class Command:
    """A subcommand: its name, one-line help, a function adding its options and the function run."""

    name: str
    help: str
    options: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    #: options this command does not take, with the reason given when a user passes one
    not_taken: tuple = ()


#: Registered subcommands, in the order ``--help`` lists them.
COMMANDS: dict[str, Command] = {}


def command(name: str, help: str, *, options: Callable, not_taken: Sequence[tuple[str, str]] = ()):
    """Register ``run(args) -> int`` as the subcommand ``name`` (a decorator)."""

    def register(run):
        COMMANDS[name] = Command(name, help, options, run, tuple(not_taken))
        return run

    return register


def _input_options(p: argparse.ArgumentParser, *, input_optional: bool = False) -> None:
    """The input table and how it is read; the options every subcommand has."""
    if input_optional:
        p.add_argument("input", nargs="?", metavar="INPUT",
                       help="Brain-Score export or a wide/long CSV; omit to use the built-in simulated leaderboard")
    else:
        p.add_argument("input", metavar="INPUT", help="Brain-Score export or a wide/long CSV")
    p.add_argument("--domains", metavar="FILE", help="CSV metric,domain for a generic table")
    p.add_argument("--aggregates", default="detect", metavar="MODE",
                   help="summary columns: 'detect' (default: columns that are the mean, a "
                        "fixed-weight mean or the sum of others, ranks and constants are not "
                        "analysed as metrics), 'none' (every column is a metric), or a JSON file "
                        "with the tree {parent: [children]}")
    p.add_argument("--quiet", action="store_true", help="no progress or notes on stderr")
    p.add_argument("--debug", action="store_true", help="show the full traceback on errors")


def _resampling_options(p: argparse.ArgumentParser) -> None:
    """How the bootstrap intervals are computed (subcommands that report intervals)."""
    p.add_argument("--n-boot", type=int, default=2000, metavar="N", help="bootstrap resamples (default 2000)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    p.add_argument("--n-jobs", type=int, default=-1, metavar="N",
                   help="worker processes for the resampling: -1 = every core (default), 1 = none; every "
                        "result is identical for any value")
    p.add_argument("--clusters", default="auto", metavar="UNIT",
                   help="resampling unit: auto (families when model names show near-copies, as in Brain-Score "
                        "exports; default), families, architecture, none (models), or FILE.csv with columns "
                        "model_id,family")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    parser = _Parser(prog=PROG, description="Do model-brain alignment metrics measure the same thing?")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=_Parser)
    for cmd in COMMANDS.values():
        cmd.options(sub.add_parser(cmd.name, help=cmd.help, description=cmd.help))
    return parser


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse; an unknown option gets the reason it is not taken or the nearest known option."""
    args, extra = parser.parse_known_args(argv)
    if extra:
        cmd = COMMANDS[args.command]
        sub = parser._subparsers._group_actions[0].choices[args.command]  # noqa: SLF001 - argparse has no API
        bad = next((e for e in extra if e.startswith("-")), extra[0])
        name = bad.split("=", 1)[0]
        reasons = dict(cmd.not_taken)
        if name in reasons:
            raise UsageError(f"{args.command}: {name} does not apply: {reasons[name]}")
        if not name.startswith("-"):
            raise UsageError(f"{args.command}: unexpected argument {bad!r} (see "
                             f"'{PROG} {args.command} --help')")
        known = [o for o in sub._option_string_actions if o.startswith("--")]  # noqa: SLF001
        raise UsageError(f"{args.command}: unknown option {name}{did_you_mean(name, known)}; "
                         f"options: {', '.join(sorted(known))}")
    return args


# ------------------------------------------------------------------------------------------ output
def _note(args, text: str) -> None:
    """A one-line note on stderr (silenced by --quiet)."""
    if not args.quiet:
        print(f"{PROG}: {text}", file=sys.stderr, flush=True)


def _notes_for_warnings(args):
    """Show each distinct warning once, as ``alignfactors: note: <message>`` (no source line)."""
    seen: set[str] = set()

    def show(message, category, filename, lineno, file=None, line=None):
        text = " ".join(str(message).split())
        if text not in seen and not args.quiet:
            seen.add(text)
            print(f"{PROG}: note: {text} [{category.__name__}]", file=sys.stderr, flush=True)

    return show


@contextlib.contextmanager
def _progress(args):
    """Progress of one analysis on stderr: its resamples, and a line during every pause (see
    :mod:`alignfactors._progress`); nothing with --quiet."""
    from ._progress import StepProgress

    with StepProgress({args.command: 1.0}, enabled=not args.quiet, title=f"{PROG} {args.command}") as bar:
        bar.step(args.command)
        yield


def _aggregates_option(value: str):
    if value in ("detect", "none"):
        return value
    p = Path(value)
    if not p.is_file():
        raise ParameterError(f"--aggregates {value!r}: expected 'detect', 'none' or a JSON file "
                             "with the tree {parent: [children]}; no such file")
    try:
        tree = json.loads(p.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParameterError(f"--aggregates {value}: not valid JSON ({exc}); write an object "
                             "{parent: [children, ...]}") from None
    if not isinstance(tree, dict) or not all(isinstance(v, list) for v in tree.values()):
        raise ParameterError(f"--aggregates {value}: expected a JSON object {{parent: [children, "
                             f"...]}}, got {type(tree).__name__}")
    return tree


def _load(args):
    from .io.loading import load_table

    aggregates = _aggregates_option(getattr(args, "aggregates", "detect"))
    return load_table(args.input, domains=args.domains, aggregates=aggregates)


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


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _describe_cleaned(args, table, c) -> None:
    """What ``clean`` kept and dropped, and its missing-value policy, as lines on stdout."""
    n, p = c.matrix.shape
    per_domain = c.domains.value_counts(dropna=False)
    domains = ", ".join(f"{v} {k}" for k, v in per_domain.items() if k is not None)
    o = c.options
    counts = c.log.groupby(["kind", "reason_short"]).size().to_dict() if len(c.log) else {}
    source = Path(args.input).name if args.input else "simulated leaderboard"
    print(f"Data: {source}: {table.scores.shape[0]} models, {c.n_metrics_in} benchmark columns.")
    print(f"Used: {n} models x {p} metrics" + (f" ({domains})" if domains else "") + ".")
    not_analysed = [f"{v} columns ({r})" for (k, r), v in counts.items() if k == "metric" and "missing" not in r]
    if not_analysed:
        print("Not analysed: " + "; ".join(not_analysed) + ".")
    n_sparse = sum(v for (k, r), v in counts.items() if k == "metric" and "missing" in r)
    n_models = sum(v for (k, r), v in counts.items() if k == "model")
    rule = ("then every model with a missing value on the kept metrics dropped (complete cases)"
            if o.get("complete", True) else "then models with no value dropped; pairwise deletion for the rest")
    print(f"Missing values: {_plural(n_sparse, 'metric')} missing for more than {o.get('max_missing', 0.5):.0%} "
          f"of models dropped; {rule}: {_plural(n_models, 'model')}; nothing imputed.")


# ------------------------------------------------------------------------------------------ commands
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


def _report_options(p: argparse.ArgumentParser) -> None:
    _input_options(p, input_optional=True)
    _resampling_options(p)
    p.add_argument("--out", required=True, metavar="DIR", help="output directory (replaced atomically)")
    p.add_argument("--config", metavar="FILE", help="JSON or TOML file with report option overrides")


@command("report", "run every analysis; write report.md, figures/ and results.json", options=_report_options)
def _cmd_report(args) -> int:
    options = _read_config(args.config) if args.config else {}
    from ._workers import prewarm, tune_allocator

    tune_allocator()
    if args.n_boot:
        # the workers import the package while this process imports it and reads the input
        prewarm(options["n_jobs"] if "n_jobs" in options and args.n_jobs == -1 else args.n_jobs)
    from .reporting.run import REPORT_OPTIONS, report

    for key in ("n_boot", "seed"):
        if key in options:
            raise ParameterError(f"--config: set {key} with --{key.replace('_', '-')}, not in the config file.")
    for key in options:
        if key not in REPORT_OPTIONS:
            raise ParameterError(f"--config {args.config}: unknown option {key!r}"
                                 f"{did_you_mean(key, REPORT_OPTIONS)}; allowed: {', '.join(REPORT_OPTIONS)}.")
    if args.input is None:
        from .io.datasets import simulate_leaderboard

        _note(args, "no INPUT given: running on the built-in simulated leaderboard "
                    "(alignfactors.io.datasets.simulate_leaderboard()); the numbers describe no real models.")
        table, source, simulated = simulate_leaderboard(), None, True
    else:
        table, source, simulated = _load(args), args.input, False
    if "n_jobs" not in options or args.n_jobs != -1:
        options["n_jobs"] = args.n_jobs
    if "clusters" not in options or args.clusters != "auto":
        options["clusters"] = _clusters(args, table) if args.clusters != "auto" else "auto"
    out = report(table, out=args.out, n_boot=args.n_boot, seed=args.seed, progress=not args.quiet,
                 simulated=simulated, source=source, **options)
    results = out / "results.json"
    d = json.loads(results.read_text(encoding="utf-8")) if results.is_file() else {}
    for text in d.get("warnings", []):
        _note(args, f"note: {' '.join(str(text).split())} (listed in report.md)")
    c = d.get("cleaning")
    if c:
        o = c.get("options", {})
        _note(args, f"used {c['n_models']} of {c['n_models_in']} models and {c['n_metrics']} of {c['n_columns_in']} "
                    f"benchmark columns; missing values: metrics missing for more than {o.get('max_missing', 0.5):.0%} "
                    "of models dropped, then " + ("models with any missing value dropped (complete cases)"
                                                  if o.get("complete", True) else "models with no value dropped")
                    + "; nothing imputed (each dropped item with its reason: 'Data and cleaning' in report.md)")
    _note(args, f"wrote {out / 'report.md'}, {out / 'results.json'} and {out / 'figures'}/")
    return 0


def _analysis_options(p: argparse.ArgumentParser) -> None:
    _input_options(p)
    _resampling_options(p)


@command("agreement", "correlations between metrics: mean and domain blocks", options=_analysis_options)
def _cmd_agreement(args) -> int:
    from .agreement import agreement
    from .cleaning import clean

    table = _load(args)
    c = clean(table)
    _describe_cleaned(args, table, c)
    with _progress(args):
        res = agreement(c.matrix, groups=c.domains if c.domains.notna().all() else None, n_boot=args.n_boot,
                        n_jobs=args.n_jobs,
                        seed=args.seed, progress=not args.quiet, clusters=_clusters(args, table))
    print()
    print(res.summary())
    _unit_note(args, res.mean)
    return 0


@command("dimensions", "how many dimensions: eigenvalues and rules for k", options=_analysis_options)
def _cmd_dimensions(args) -> int:
    from .cleaning import clean
    from .dimensions import dimensionality

    table = _load(args)
    c = clean(table)
    _describe_cleaned(args, table, c)
    with _progress(args):
        res = dimensionality(c.matrix, n_boot=args.n_boot, n_jobs=args.n_jobs, seed=args.seed, progress=not args.quiet,
                             clusters=_clusters(args, table))
    print()
    print(res.summary())
    _unit_note(args, res.participation_ratio)
    return 0


def _decompose_options(p: argparse.ArgumentParser) -> None:
    _analysis_options(p)
    p.add_argument("--aggregate", default="average_vision", help="aggregate column (default average_vision)")


@command("decompose", "variance of an aggregate explained by its parts", options=_decompose_options)
def _cmd_decompose(args) -> int:
    from .decomposition import decompose

    table = _load(args)
    with _progress(args):
        res = decompose(table, aggregate=args.aggregate, n_boot=args.n_boot, n_jobs=args.n_jobs, seed=args.seed,
                        progress=not args.quiet, clusters=_clusters(args, table))
    source = Path(args.input).name
    print(f"Data: {source}: {table.scores.shape[0]} models.")
    print(f"Used: {res.n_models} models with {res.aggregate!r} and its {len(res.parts)} parts "
          f"({', '.join(res.parts)}); each level below lists its own models.")
    print(f"Missing values: a model missing the aggregate or any part is excluded from that level "
          f"({_plural(res.n_excluded, 'model')} here); nothing imputed.")
    print()
    print(res.summary())
    _unit_note(args, res.r2_joint)
    return 0


def _aggregate_options(p: argparse.ArgumentParser) -> None:
    from .aggregation import AGGREGATION_METHODS, MISSING_POLICIES

    _input_options(p)
    p.add_argument("--method", default="brainscore", choices=AGGREGATION_METHODS, metavar="M",
                   help=f"aggregation rule: {', '.join(AGGREGATION_METHODS)} (default brainscore)")
    p.add_argument("--missing", choices=MISSING_POLICIES, default=None,
                   help="missing scores: zero (count as 0), skip (average the present ones) or error; "
                        "default zero for brainscore, error for pc1, skip otherwise")
    p.add_argument("--top", type=int, default=20, metavar="N", help="models to print (default 20; 0 = all)")


_NO_INTERVALS = ("aggregate computes scores and ranks without intervals; rank uncertainty (resampling the "
                 "benchmarks, never the ranked models) is in 'alignfactors report'")


@command("aggregate", "one score and rank per model under an aggregation rule", options=_aggregate_options,
         not_taken=[("--n-boot", _NO_INTERVALS), ("--seed", _NO_INTERVALS)])
def _cmd_aggregate(args) -> int:
    import pandas as pd

    from ._formatting import text_table
    from .aggregation import aggregate, rank_models

    table = _load(args)
    scores = aggregate(table, method=args.method, missing=args.missing)
    metrics = scores.attrs["metrics"]
    n_present = table.scores[metrics].notna().sum(axis=1).reindex(scores.index)
    ranks = rank_models(scores)
    frame = pd.DataFrame({"rank": ranks, "model_id": scores.index,
                          "model_name": table.models["model_name"].reindex(scores.index),
                          "score": scores, "n_metrics": n_present.astype(int)})
    frame = frame.sort_values("rank", kind="stable", na_position="last")
    shown = frame.head(args.top) if args.top else frame
    n_scored = int(scores.notna().sum())
    policy = scores.attrs["missing"]
    p = len(metrics)
    print(f"Data: {Path(args.input).name}: {table.scores.shape[0]} models.")
    print(f"Used: {n_scored} models scored on {p} metrics" + (f" under {scores.attrs['root']!r}"
                                                              if scores.attrs.get("root") else "") + ".")
    incomplete = int((n_present < p).sum())
    if policy == "zero":
        text = (f"counted as 0 (Brain-Score's rule): {scores.attrs['n_missing_zeroed']} missing cells in "
                f"{_plural(incomplete, 'model')}")
    elif policy == "skip":
        text = (f"skipped, each model averages only the metrics it has: {scores.attrs['n_missing_skipped']} "
                f"missing cells in {_plural(incomplete, 'model')}; n_metrics says how many each model was "
                "scored on")
    else:
        text = "none (missing='error' found none)"
    if n_scored < len(scores):
        text += f"; {_plural(len(scores) - n_scored, 'model')} with no score at all get no rank"
    print(f"Missing values: {text}.")
    if policy == "skip" and len(shown):
        top = shown.iloc[0]
        print(f"The top model, {top['model_name']} ({top['model_id']}), is scored on {top['n_metrics']} of {p} "
              "metrics.")
    print()
    print(f"{args.method} aggregate (higher is better; rank 1 = best, ties share the mean rank); showing "
          f"{len(shown)} of {len(frame)}")
    shown = shown.assign(rank=shown["rank"].map(lambda r: "–" if pd.isna(r) else f"{r:g}"))
    print(text_table(shown.reset_index(drop=True)))
    return 0


def _trend_options(p: argparse.ArgumentParser) -> None:
    _analysis_options(p)
    p.add_argument("--dates", required=True, metavar="D1,D2,...", help="comma-separated dates YYYY-MM-DD")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory: trend.md, trend.png, trend.json")
    p.add_argument("--aggregate", default="average_vision",
                   help="aggregate whose R² on each part is followed (default average_vision)")


@command("trend", "the headline analyses on the leaderboard as it stood at several dates "
                  "(needs timestamps: the snapshot JSON)", options=_trend_options)
def _cmd_trend(args) -> int:
    from .trend import trend

    table = _load(args)
    with _progress(args):
        res = trend(table, args.dates, aggregate=args.aggregate, n_boot=args.n_boot, n_jobs=args.n_jobs, seed=args.seed,
                    clusters=_clusters(args, table), progress=not args.quiet)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cmd = (f"alignfactors trend {Path(args.input).name} --dates {','.join(res.dates)} "
           f"--n-boot {args.n_boot} --seed {args.seed}"
           + f" --clusters {args.clusters}")
    (out / "trend.md").write_text(
        f"# Leaderboard over time: {Path(args.input).name}\n\n"
        f"Command: `{cmd}`\n\n"
        "Each date is the leaderboard as it stood then (scores computed later removed, "
        "aggregates recomputed with the source's own rule), cleaned and analysed on its own; "
        "intervals resample its models (or clusters).\n\n"
        f"{res.to_markdown()}\n\n![trend](trend.png)\n", encoding="utf-8")
    res.plot(out / "trend.png")
    (out / "trend.json").write_text(json.dumps(res.to_dict(), indent=1, sort_keys=False),
                                    encoding="utf-8")
    print(f"Data: {Path(args.input).name}: {table.scores.shape[0]} models; the leaderboard as it "
          f"stood on {len(res.dates)} dates ({', '.join(res.dates)}).")
    print(f"Missing values: each date is cleaned on its own (metrics missing for more than "
          f"{res.options.get('max_missing', 0.5):.0%} of that date's models dropped, then models "
          "with any missing value); see n_models and n_metrics.")
    print("Used: at each date, the models and metrics in the rows n_models and n_metrics below (the leaderboard "
          "as it stood then, cleaned on its own).")
    print()
    print(res.summary())
    _note(args, f"wrote {out / 'trend.md'}, {out / 'trend.png'} and {out / 'trend.json'}")
    return 0


# ------------------------------------------------------------------------------------------ main
def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``alignfactors`` console script; returns the exit code."""
    parser = build_parser()
    try:
        args = _parse(parser, argv)
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    try:
        with warnings.catch_warnings():
            if args.quiet:
                warnings.simplefilter("ignore")
            else:  # the package's warnings are notes for the user, whatever filters the caller set
                warnings.filterwarnings("default", category=AlignFactorsWarning)
            warnings.showwarning = _notes_for_warnings(args)
            return COMMANDS[args.command].run(args)
    except BrokenPipeError:  # e.g. piped into head: the reader has what it wanted
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
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
