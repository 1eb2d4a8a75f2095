"""Background work for the task workers: evaluating the rules after a sync, sending
deliveries, and trying again later."""

from django_tasks import task

from alerts.models import Delivery
from alerts.services import evaluation  # the module: it imports this one
from alerts.services.delivery import attempt_delivery
from portal.models import ProviderAccount


@task()
def send_delivery(delivery_id: int) -> str:
    """One attempt at a delivery; a failure queues the next attempt for when it is due."""
    delivery = attempt_delivery(delivery_id)
    if delivery is None:
        return "nothing to do"
    if delivery.state == Delivery.State.RETRYING:
        queue_delivery(delivery)
    return delivery.state


def queue_delivery(delivery: Delivery) -> None:
    """Hand the delivery to the workers, to be tried when it is due."""
    send_delivery.using(run_after=delivery.next_attempt_at).enqueue(delivery.pk)


@task()
def evaluate_account_alerts(account_id: int) -> str:
    """Evaluate the rules about one account, queued when a sync of it has finished."""
    account = ProviderAccount.objects.select_related("provider").filter(pk=account_id).first()
    if account is None:
        return "no such account"
    return str(evaluation.evaluate_rules(account=account))
