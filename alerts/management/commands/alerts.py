"""`manage.py alerts evaluate [--every SECONDS]`: the schedule of the alerts. Each round
evaluates every rule for the whole portal (the conditions that change without a sync:
time passing for "sync failing" and "unknown purchases", reminders, the weekly digest) and
queues again the deliveries the workers lost. Evaluations after a sync run on the task
workers, queued by the sync itself."""

import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from alerts.services.evaluation import evaluate_rules, requeue_stalled


class Command(BaseCommand):
    help = "Evaluate the alert rules (once, or every SECONDS) and queue lost deliveries again."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="evaluate")
        evaluate = actions.add_parser("evaluate", help=self.help)
        evaluate.add_argument(
            "--every", type=int, metavar="SECONDS", help="keep evaluating, a round every SECONDS"
        )

    def handle(self, *args, every=None, **options):
        if every is None:
            evaluation = self.evaluate_round()
            if evaluation.failed:
                raise CommandError(f"Some rules could not be evaluated: {evaluation.failed}")
            return
        if every < 1:
            raise CommandError("--every needs at least 1 second.")
        while True:  # a scheduler: runs until stopped (make run stops it with the server)
            started = time.monotonic()
            self.evaluate_round()
            time.sleep(max(0.0, every - (time.monotonic() - started)))

    def evaluate_round(self):
        evaluation = evaluate_rules()
        requeued = requeue_stalled()
        when = f"{timezone.localtime():%Y-%m-%d %H:%M:%S}"
        line = f"{when} alerts: {evaluation}; {requeued} delivery(ies) queued again."
        style = self.style.ERROR if evaluation.failed else self.style.SUCCESS
        self.stdout.write(style(line))
        return evaluation
