"""Sync failing: an active account with no successful sync for the rule's hours (counted
from when the account was added, for one never synced), or its last `failed_runs` runs
all failed."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Max, Q

from alerts.conditions.base import Finding, account_subject, when_fact
from alerts.models import Rule
from portal.models import ProviderAccount, SyncRun

FAILED = (SyncRun.Status.FAILED, SyncRun.Status.INTERRUPTED)
ERROR_CHARS = 200


def sync_failing(rule: Rule, *, now: datetime, account=None) -> list[Finding]:
    if rule.hours is None and rule.failed_runs is None:
        return []
    accounts = ProviderAccount.objects.filter(is_active=True)
    if account is not None:
        accounts = accounts.filter(pk=account.pk)
    accounts = (
        accounts.select_related("provider")
        .defer("api_secret")
        .annotate(
            last_success=Max(
                "sync_runs__finished_at", filter=Q(sync_runs__status=SyncRun.Status.SUCCEEDED)
            )
        )
    )
    findings = []
    for candidate in accounts:
        finished = list(
            SyncRun.objects.filter(account=candidate, finished_at__isnull=False)
            .order_by("-finished_at", "-pk")
            .values("status", "error")[: max(rule.failed_runs or 0, 1)]
        )
        in_a_row = 0
        for run in finished:
            if run["status"] not in FAILED:
                break
            in_a_row += 1
        since = candidate.last_success or candidate.created_at
        stale = rule.hours is not None and since <= now - timedelta(hours=rule.hours)
        failing = rule.failed_runs is not None and in_a_row >= rule.failed_runs
        if not (stale or failing):
            continue
        if failing:
            summary = f"{candidate}: the last {in_a_row} syncs failed"
        elif candidate.last_success is None:
            summary = f"{candidate}: no successful sync since it was added"
        else:
            summary = f"{candidate}: no successful sync for more than {rule.hours} hours"
        last_error = finished[0]["error"] if finished and finished[0]["status"] in FAILED else ""
        findings.append(
            Finding(
                subject=account_subject(candidate),
                account=candidate,
                summary=summary,
                facts={
                    "account": str(candidate),
                    "last_success": when_fact(candidate.last_success),
                    "failed_in_a_row": str(in_a_row),
                    "hours": "" if rule.hours is None else str(rule.hours),
                    "failed_runs": "" if rule.failed_runs is None else str(rule.failed_runs),
                    "last_error": " ".join(last_error.split())[:ERROR_CHARS],
                },
            )
        )
    return findings
