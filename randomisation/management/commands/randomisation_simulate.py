import json

from django.core.management.base import BaseCommand, CommandError

from randomisation.algorithms import check_design
from randomisation.design import design_for
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
        "Simulate a randomisation design before go-live: predictability and imbalance, "
        "from the trial's own factors (or --strata N equal strata)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--trial", default="RC")
        parser.add_argument("--method", choices=["blocks", "minimisation"])
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
            design = design_for(found, method=method, block_sizes=block_sizes, strata=strata, p=p)
            check_design(design.arms, design.ratio, design.block_sizes)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        report = simulate(design, families=families, runs=runs, seed=seed)
        if json:
            self.stdout.write(_dumps(report))
            return
        self.stdout.write(render_text(report))


def _dumps(report: dict) -> str:
    return json.dumps(report, indent=2)


def render_text(report: dict) -> str:
    d = report["design"]
    worst = report["worst_factor_level_imbalance"]
    lines = [
        f"Design: {d['method']}"
        + (f", blocks {d['block_sizes']}" if d["block_sizes"] else f", p = {d['p']}")
        + f"; {d['strata']} strata; {report['families']} families x {report['runs']} runs "
        f"(seed {report['seed']})",
        f"  correct_guess_probability           {report['correct_guess_probability']:.4f}"
        f"  (± {report['correct_guess_standard_error']:.4f})",
        f"  mean_abs_imbalance                  {report['mean_abs_imbalance']:.3f}",
        f"  mean_max_within_stratum_imbalance   {report['mean_max_within_stratum_imbalance']:.3f}",
        f"  worst factor-level imbalance        mean {worst['mean']:.3f}, max {worst['max']:.0f}",
        "  P(|imbalance| >= k):  "
        + "  ".join(f"{k}: {v:.3f}" for k, v in list(report["p_abs_imbalance_ge"].items())[:8]),
    ]
    return "\n".join(lines)
