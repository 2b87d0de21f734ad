"""`python -m bench [--check] [--only core|views|versus|real|peers] [--scale S]`: run the benchmarks, print
a table, and with --check fail on a missed budget. `versus` is eventlog against the real mlflow package, side
by side (bench/_versus.py); `real` measures stores written the way users write them, through the client
run by run, with MLflow's figures beside eventlog's (bench/_real.py); `peers` is eventlog beside trackio,
tensorboardX, Aim and W&B offline, each in its own virtualenv (bench/_peers.py). See docs/benchmarks.md."""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
from typing import TYPE_CHECKING

from bench._core import Figure, core_figures
from bench._machine import machine_line

if TYPE_CHECKING:
    from bench._real import Row


def _format(value: float, unit: str) -> str:
    return f"{value:,.3f} {unit}" if value < 100 else f"{value:,.0f} {unit}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--check", action="store_true", help="exit 1 if a figure misses its budget")
    parser.add_argument(
        "--only",
        choices=("core", "views", "versus", "real", "peers"),
        help="run only the core, the views, the eventlog-vs-MLflow figures, the figures on stores "
        "written through the client (real), or eventlog beside the other local-first trackers (peers)",
    )
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="multiply every workload (e.g. 0.1 for a quick run; budgets stay)",
    )
    args = parser.parse_args(argv)

    import eventlog

    print(
        f"eventlog {eventlog.__version__} | Python {platform.python_version()} | {platform.machine()} | "
        f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC"
        + (f" | scale {args.scale:g}" if args.scale != 1.0 else "")
    )
    print(machine_line(), flush=True)
    figures: list[Figure] = []
    if args.only in (None, "core"):
        figures += core_figures(
            calls=max(1_000, round(300_000 * args.scale)), batches=max(100, round(20_000 * args.scale))
        )
    if args.only in (None, "views"):
        from bench._views import views_figures

        figures += views_figures(args.scale)
    comparisons = []
    if args.only in (None, "versus"):
        from bench._versus import versus_figures

        comparisons = versus_figures(args.scale)
    real_rows: list[Row] = []
    if args.only in (None, "real"):
        from bench._real import real_figures

        real_rows = real_figures(args.scale)
    peer_rows = []
    if args.only in (None, "peers"):
        from bench._peers import peer_figures

        peer_rows = peer_figures(args.scale)
    width = max((len(f.name) for f in figures), default=0)
    failed = []
    for f in figures:
        budget = ""
        if f.budget is not None:
            sign = ">=" if f.higher_is_better else "<="
            budget = f"  budget {sign} {_format(f.budget, f.unit)}  {'ok' if f.ok else 'MISSED'}"
            if not f.ok:
                failed.append(f.name)
        note = f"  ({f.note})" if f.note else ""
        print(f"{f.name:<{width}}  {_format(f.value, f.unit):>20}{budget}{note}")
    if comparisons:
        from bench._versus import format_comparisons

        if figures:
            print()
        print("\n".join(format_comparisons(comparisons)))
        failed += [c.name.strip() for c in comparisons if not c.ok]
    if real_rows:
        from bench._real import format_rows

        if figures or comparisons:
            print()
        print("\n".join(format_rows(real_rows)))
        failed += [r.name.strip() for r in real_rows if not r.ok]
    if peer_rows:
        from bench._peers import format_peer_rows

        if figures or comparisons or real_rows:
            print()
        print("\n".join(format_peer_rows(peer_rows)))
        failed += [r.name.strip() for r in peer_rows if not r.ok]
    if args.check and failed:
        print(f"budgets missed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
