import re
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from audit.sealing import seal_waiting, waiting_count
from audit.verification import verify_ledger
from core.channels import Channel
from core.errors import TrialError
from review.heads import published_heads
from review.services import verification_record
from sites.commands import actor_from


class Command(BaseCommand):
    help = (
        "Recompute the audit ledger's hash chain. Exit 0 printing the events checked, or "
        "exit 1 naming the first event altered, removed, inserted or reordered."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--expect-head",
            metavar="SEQ:HASH",
            help="an anchor kept outside the database (printed by earlier runs)",
        )
        parser.add_argument(
            "--head-file",
            metavar="FILE",
            action="append",
            type=Path,
            default=[],
            help="check every ledger head published in FILE (a ledger-head-*.jsonl file, or a "
            "folder of them; may be given more than once)",
        )
        parser.add_argument(
            "--record",
            action="store_true",
            help="append the result to the ledger (as the nightly task does)",
        )
        parser.add_argument("--as", dest="actor", help="username recorded with --record")
        parser.add_argument(
            "--workers",
            type=int,
            metavar="N",
            help="processes checking ranges of the ledger at once on PostgreSQL (default: one "
            "per CPU, fewer for a small ledger)",
        )

    def handle(
        self,
        *args,
        expect_head=None,
        head_file=(),
        record=False,
        actor=None,
        workers=None,
        **options,
    ):
        if workers is not None and workers < 1:
            raise CommandError("--workers must be 1 or more")
        anchor = None
        if expect_head:
            match = re.fullmatch(r"(\d+):([0-9a-f]{64})", expect_head)
            if not match:
                raise CommandError("--expect-head must be SEQ:HASH (a number, a colon, 64 hex)")
            anchor = (int(match[1]), match[2])
        try:
            published = published_heads(list(head_file))
        except TrialError as exc:
            raise CommandError(f"--head-file: {exc.message}") from exc
        if head_file and not published:
            raise CommandError(
                "--head-file: no published head found in "
                + ", ".join(str(path) for path in head_file)
            )
        # Events waiting to be sealed join the chain first (batched sealing; none inline).
        seal_waiting()
        result = verify_ledger(
            expect_head=anchor, expect_heads=[h.anchor for h in published], workers=workers
        )
        if record:
            verification_record(
                result=result, actor=actor_from(actor) if actor else None, channel=Channel.COMMAND
            )
        if not result.intact:
            self.stderr.write(f"BROKEN at event #{result.broken_at}: {result.problem}")
            self.stderr.write(f"({result.checked} events verified before it)")
            for head in published:
                if head.seq == result.broken_at:
                    self.stderr.write(f"Head published at {head.at or '?'}: {head.source}")
            raise SystemExit(1)
        self.stdout.write(
            f"OK: {result.checked} events checked; chain intact. "
            f"Head: {result.last_seq}:{result.last_hash}"
        )
        if waiting := waiting_count():
            self.stdout.write(
                f"{waiting} events written since are waiting to be sealed into the chain."
            )
        if published:
            latest = max(published, key=lambda head: head.seq)
            self.stdout.write(
                f"{len(published)} published heads match, the latest #{latest.seq} "
                f"({latest.source})."
            )
