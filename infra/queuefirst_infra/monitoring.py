"""Alarms and a dashboard for one function and, for workers, its queues.

Every alarm notifies the application's alarm topic (`queuefirst_infra.alerting`)
when it fires and when it clears.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from queuefirst.model.entity import Scaling
from queuefirst.model.limits import DLQ_RETENTION_SECONDS
from queuefirst.model.names import METRICS_NAMESPACE
from queuefirst_infra import naming

PERIOD = Duration.minutes(1)


def _above(
    scope: Construct,
    construct_id: str,
    *,
    name: str,
    description: str,
    metric: cloudwatch.IMetric,
    threshold: float,
    evaluation_periods: int = 1,
) -> cloudwatch.Alarm:
    """An alarm when `metric` rises above `threshold`; no data is no trouble."""
    return cloudwatch.Alarm(
        scope,
        construct_id,
        alarm_name=name,
        alarm_description=description,
        metric=metric,
        threshold=threshold,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluation_periods=evaluation_periods,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )


def _notify(alarms: list[cloudwatch.Alarm], topic: sns.ITopic) -> None:
    for alarm in alarms:
        alarm.add_alarm_action(actions.SnsAction(topic))
        alarm.add_ok_action(actions.SnsAction(topic))


def failed_records(function_name: str) -> cloudwatch.Metric:
    """Records a worker reported failed (partial batch responses are not Lambda
    errors): the `CommandsFailed` metric its EMF output carries. Rejections are
    answers, not failures, and do not count."""
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name="CommandsFailed",
        dimensions_map={"service": function_name, "function": function_name},
        period=PERIOD,
        statistic="Sum",
    )


def function_alarms(
    scope: Construct,
    function: lambda_.IFunction,
    function_name: str,
    topic: sns.ITopic,
    *,
    worker: bool = False,
) -> list[cloudwatch.Alarm]:
    """Errors and throttles, of every version together (a canary judges its own version
    from the per-version figures instead, see `queuefirst.ops.canary`).

    A worker's errors include the records it reports failed: a partial batch
    failure is no Lambda error, yet its records retry and may dead-letter.
    """
    errors: cloudwatch.IMetric = function.metric_errors(period=PERIOD, statistic="Sum")
    if worker:
        errors = cloudwatch.MathExpression(
            expression="errors + FILL(failed, 0)",
            using_metrics={"errors": errors, "failed": failed_records(function_name)},
            label="errors and failed records",
            period=PERIOD,
        )
    alarms = [
        _above(
            scope,
            "ErrorsAlarm",
            name=naming.error_alarm_name(function_name),
            description=f"{function_name} reported errors or failed records",
            metric=errors,
            threshold=0,
        ),
        _above(
            scope,
            "ThrottlesAlarm",
            name=naming.throttle_alarm_name(function_name),
            description=f"{function_name} was throttled",
            metric=function.metric_throttles(period=Duration.minutes(5), statistic="Sum"),
            threshold=0,
        ),
    ]
    _notify(alarms, topic)
    return alarms


def oldest_message_threshold(scaling: Scaling) -> int:
    """A message older than all its allowed receives should already be in the DLQ."""
    return scaling.visibility_timeout_seconds * scaling.max_receive_count


def queue_alarms(
    scope: Construct,
    *,
    queue: sqs.Queue,
    queue_name: str,
    dead_letter_queue: sqs.Queue,
    dead_letter_queue_name: str,
    scaling: Scaling,
    topic: sns.ITopic,
) -> list[cloudwatch.Alarm]:
    """The queue's oldest message, and three dead-letter alarms.

    SQS does not count messages its redrive policy moves into a dead-letter
    queue in that queue's NumberOfMessagesSent, so arrivals are read from the
    depth: `-arrivals` fires whenever it rises (DIFF of two minutes' depths)
    and clears when it stops, so each new dead letter notifies again even
    while older ones wait; `-visible` fires on the first one (DIFF needs a
    minute before it, which an idle queue has not published); `-oldest` fires
    when a dead letter has waited half the dead-letter queue's retention,
    days before SQS deletes it unread.
    """
    depth = dead_letter_queue.metric_approximate_number_of_messages_visible(
        period=PERIOD, statistic="Maximum"
    )
    alarms = [
        _above(
            scope,
            "DeadLettersAlarm",
            name=f"{dead_letter_queue_name}-visible",
            description=f"messages parked in {dead_letter_queue_name}; inspect and redrive",
            metric=depth,
            threshold=0,
        ),
        _above(
            scope,
            "DeadLetterArrivalsAlarm",
            name=f"{dead_letter_queue_name}-arrivals",
            description=f"new dead letters in {dead_letter_queue_name}; `queuefirst dlq show` says why",
            metric=cloudwatch.MathExpression(
                expression="DIFF(depth)",
                using_metrics={"depth": depth},
                label="new dead letters",
                period=PERIOD,
            ),
            threshold=0,
        ),
        _above(
            scope,
            "OldestDeadLetterAlarm",
            name=f"{dead_letter_queue_name}-oldest",
            description=(
                f"a dead letter in {dead_letter_queue_name} has waited half its retention "
                f"({DLQ_RETENTION_SECONDS // 86400} days); redrive or discard it before SQS deletes it"
            ),
            metric=dead_letter_queue.metric_approximate_age_of_oldest_message(
                period=PERIOD, statistic="Maximum"
            ),
            threshold=oldest_dead_letter_threshold(),
        ),
        _above(
            scope,
            "OldestMessageAlarm",
            name=f"{queue_name}-oldest-message",
            description=f"{queue_name} holds a message older than its retries allow",
            metric=queue.metric_approximate_age_of_oldest_message(period=PERIOD, statistic="Maximum"),
            threshold=oldest_message_threshold(scaling),
            evaluation_periods=3,
        ),
    ]
    _notify(alarms, topic)
    return alarms


def oldest_dead_letter_threshold() -> int:
    """Half the dead-letter retention: days to act before the message expires."""
    return DLQ_RETENTION_SECONDS // 2


def worker_dashboard(
    scope: Construct,
    *,
    name: str,
    queue: sqs.Queue,
    dead_letter_queue: sqs.Queue,
    function: lambda_.IFunction,
    alarms: list[cloudwatch.Alarm],
) -> cloudwatch.Dashboard:
    dashboard = cloudwatch.Dashboard(scope, "Dashboard", dashboard_name=name)
    dashboard.add_widgets(
        cloudwatch.AlarmStatusWidget(title="alarms", alarms=list(alarms), width=24, height=3)
    )
    dashboard.add_widgets(
        cloudwatch.GraphWidget(
            title="queue",
            left=[
                queue.metric_approximate_number_of_messages_visible(period=PERIOD),
                queue.metric_approximate_number_of_messages_not_visible(period=PERIOD),
                dead_letter_queue.metric_approximate_number_of_messages_visible(period=PERIOD),
            ],
            right=[queue.metric_approximate_age_of_oldest_message(period=PERIOD)],
            width=12,
        ),
        cloudwatch.GraphWidget(
            title="worker",
            left=[
                function.metric_invocations(period=PERIOD),
                function.metric_errors(period=PERIOD),
                function.metric_throttles(period=PERIOD),
            ],
            right=[function.metric_duration(period=PERIOD, statistic="p99")],
            width=12,
        ),
    )
    dashboard.add_widgets(
        cloudwatch.GraphWidget(
            title="concurrency",
            left=[function.metric("ConcurrentExecutions", period=PERIOD, statistic="Maximum")],
            width=12,
        ),
    )
    return dashboard
