import json
import textwrap

from django.core.management.base import BaseCommand, CommandError

from randomisation.algorithms import check_design
from randomisation.design import design_for
from randomisation.report import GUESSER_HINTS, GUESSER_LABELS, METHODS, WHY_GUESSER, compare, rows
from randomisation.simulation import simulate
from trial.models import Trial


def _sizes(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(","))
    except ValueError as exc:
        raise CommandError(
            "--block-sizes takes whole numbers separated by commas, e.g. 2,4,6"
        ) from exc


class Command(BaseCommand):
    help = (
        "Simulate the randomisation designs before go-live: permuted blocks and minimisation "
        "side by side (or one, with --method), imbalance and predictability by two guessers, "
        "and a recommendation, from the trial's own factors (or --strata N equal strata)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--trial", default="RC")
        parser.add_argument(
            "--method", choices=list(METHODS), help="report this method alone, without comparing"
        )
        parser.add_argument("--block-sizes", type=_sizes)
        parser.add_argument(
            "--strata", type=int, help="N equally likely strata instead of the trial's factors"
        )
        parser.add_argument("--p", type=float, help="minimisation: chance of the preferred arm")
        parser.add_argument("--families", type=int, default=150)
        parser.add_argument("--runs", type=int, default=1000)
        parser.add_argument("--seed", type=int, default=20261126)
        parser.add_argument("--json", action="store_true")

    def handle(
        self,
        *args,
        trial,
        method,
        block_sizes,
        strata,
        p,
        families,
        runs,
        seed,
        json: bool,
        **options,
    ):
        found = Trial.objects.filter(code=trial).first()
        if found is None:
            raise CommandError(f"No trial {trial}.")
        if families < 1 or runs < 1 or (strata is not None and strata < 1):
            raise CommandError("--families, --runs and --strata must be 1 or more.")
        try:
            designs = {
                m: design_for(found, method=m, block_sizes=block_sizes, strata=strata, p=p)
                for m in ([method] if method else METHODS)
            }
            for design in designs.values():
                check_design(design.arms, design.ratio, design.block_sizes)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if method:
            report = simulate(designs[method], families=families, runs=runs, seed=seed)
            self.stdout.write(_dumps(report) if json else render_text(report))
            return
        comparison = compare(
            designs["blocks"], designs["minimisation"], families=families, runs=runs, seed=seed
        )
        self.stdout.write(_dumps(comparison) if json else render_comparison(comparison))


def _dumps(report: dict) -> str:
    return json.dumps(report, indent=2)


def _imbalance_line(report: dict) -> str:
    return "  ".join(f"{k}: {v:.3f}" for k, v in list(report["p_abs_imbalance_ge"].items())[:8])


def render_comparison(comparison: dict) -> str:
    """The page's report as text: the rows, the recommendation and the plot's figures."""
    first = comparison["blocks"]
    width = max(len(r["label"]) for r in rows(comparison)) + 2
    lines = [
        f"Design report: {first['families']} families x {first['runs']} runs per method "
        f"(seed {first['seed']})",
        "",
        "".ljust(width) + "".join(label.ljust(28) for label in METHODS.values()),
    ]
    for row in rows(comparison):
        cells = "".join((c["value"] + (" *" if c["right"] else "")).ljust(28) for c in row["cells"])
        lines.append(row["label"].ljust(width) + cells)
    lines += ["", "* the guesser the method is judged by:"]
    notes = [f"{GUESSER_LABELS[g]}: {GUESSER_HINTS[g]}." for g in GUESSER_LABELS]
    notes += [f"{METHODS[m]}: {WHY_GUESSER[m]}" for m in METHODS]
    for note in notes:
        lines += textwrap.wrap(note, 92, initial_indent="  ", subsequent_indent="    ")
    lines += ["", "Chance that the final imbalance is at least k:"]
    lines += [f"  {METHODS[m]}:  {_imbalance_line(comparison[m])}" for m in METHODS]
    recommendation = comparison["recommendation"]
    lines += ["", "Recommendation:"]
    for paragraph in [recommendation["summary"], *recommendation["reasons"]]:
        lines += textwrap.wrap(paragraph, 92, initial_indent="  ", subsequent_indent="  ")
        lines.append("")
    return "\n".join(line.rstrip() for line in lines).rstrip()


def render_text(report: dict) -> str:
    d = report["design"]
    worst = report["worst_factor_level_imbalance"]
    guessers = report["guessers"]
    right = report["right_guesser"]
    lines = [
        f"Design: {d['method']}"
        + (f", blocks {d['block_sizes']}" if d["block_sizes"] else f", p = {d['p']}")
        + f"; {d['strata']} strata; {report['families']} families x {report['runs']} runs "
        f"(seed {report['seed']})",
        f"  correct_guess_probability           {report['correct_guess_probability']:.4f}"
        f"  (± {report['correct_guess_standard_error']:.4f}, the {right} guess)",
        *(
            f"  {g + ' guess':<36}{guessers[g]['probability']:.4f}"
            f"  (± {guessers[g]['standard_error']:.4f})"
            for g in guessers
        ),
        f"  mean_abs_imbalance                  {report['mean_abs_imbalance']:.3f}",
        f"  mean_max_within_stratum_imbalance   {report['mean_max_within_stratum_imbalance']:.3f}",
        f"  worst factor-level imbalance        mean {worst['mean']:.3f}, max {worst['max']:.0f}",
        f"  P(|imbalance| >= k):  {_imbalance_line(report)}",
    ]
    return "\n".join(lines)
