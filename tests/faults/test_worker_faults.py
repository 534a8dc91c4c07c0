"""Worker faults: a worker killed mid-batch, a text that breaks the model, two workers sharing."""

from __future__ import annotations

import ast
import re

import pytest

from classifier.models import Classification
from classifier.runs import tasks
from tests.faults.conftest import Process, wait_until
from tests.faults.helpers import assert_each_classified_once, respond, rows_of, settled

pytestmark = pytest.mark.worker

ROWS = 4  # two classify answers x two codebooks with an active model


def test_a_worker_killed_with_kill_9_mid_batch_loses_nothing(cluster, probe_models, default_survey):
    probe = probe_models()
    alpha = cluster.worker("alpha")
    cluster.beat()
    slow = respond(default_survey, 0, slow=True)
    slow_rows = rows_of([slow])
    wait_until(
        lambda: slow_rows.filter(status=Classification.Status.RUNNING).count() == ROWS,
        what="alpha claims the slow batch",
        logs=cluster,
    )
    cluster.kill_9(alpha)
    # Killed in the middle of the batch: claimed, nothing predicted, nothing stored.
    assert slow_rows.filter(status=Classification.Status.RUNNING).count() == ROWS
    assert probe.predictions() == {}
    # Respondents keep submitting while no worker runs; then a new worker takes over.
    queued = [respond(default_survey, n) for n in range(1, 6)]
    cluster.worker("bravo")
    responses = [slow, *queued]
    wait_until(
        lambda: settled(responses, per_response=ROWS),
        what="every answer classified after the kill",
        logs=cluster,
    )
    assert_each_classified_once(responses, probe.predictions(), per_response=ROWS)
    # The killed batch was claimed twice (by alpha, then by bravo once the claim went stale),
    # everything else once; only bravo ever finished a prediction.
    assert set(slow_rows.values_list("attempts", flat=True)) == {2}
    assert set(rows_of(queued).values_list("attempts", flat=True)) == {1}
    assert set(probe.workers()) == {"bravo"}


def test_a_text_that_breaks_the_model_fails_alone_after_bounded_retries(
    cluster, probe_models, default_survey
):
    probe = probe_models()
    cluster.worker("alpha")
    beat = cluster.beat()
    before = [respond(default_survey, n) for n in range(3)]
    poisoned = respond(default_survey, 3, poison=True)  # one batch: the poison and a good text
    after = [respond(default_survey, n) for n in range(4, 7)]
    responses = [*before, poisoned, *after]
    wait_until(
        lambda: settled(responses, per_response=ROWS),
        what="every answer final, the poison failed with no attempt left",
        logs=cluster,
    )
    assert_each_classified_once(responses, probe.predictions(), per_response=ROWS)
    failed = rows_of(responses).filter(status=Classification.Status.FAILED)
    assert failed.count() == 2  # the poison text under both codebooks, nothing else
    assert set(failed.values_list("answer__question__code", flat=True)) == {"change_text"}
    assert set(failed.values_list("attempts", flat=True)) == {3}  # EXPOSURE_CLASSIFY_MAX_ATTEMPTS
    # The good text of the poisoned batch and every other answer were classified on the first try.
    good = rows_of(responses).filter(status=Classification.Status.DONE)
    assert good.count() == len(responses) * ROWS - 2
    assert set(good.values_list("attempts", flat=True)) == {1}
    # Bounded: later sweeps leave the exhausted rows alone.
    sweeps = beat.text().count("Sending due task classifier-sweep")
    wait_until(
        lambda: beat.text().count("Sending due task classifier-sweep") >= sweeps + 3,
        what="three more sweeps",
        logs=cluster,
    )
    assert set(failed.values_list("status", "attempts")) == {("failed", 3)}


def test_two_workers_on_one_queue_share_the_work_and_classify_each_answer_once(
    cluster, probe_models, default_survey
):
    probe = probe_models(delay=0.3)  # batches that take a moment, so both workers get some
    alpha = cluster.worker("alpha")
    bravo = cluster.worker("bravo")
    responses = []
    for number in range(12):
        responses.append(respond(default_survey, number))
        # Redis delivers at least once: the same batch again, often to the other worker at the
        # same moment, must not classify anything a second time.
        tasks.classify_batch.delay(list(rows_of(responses[-1:]).values_list("pk", flat=True)))
    wait_until(
        lambda: (
            settled(responses, per_response=ROWS)
            and len(_results(alpha)) + len(_results(bravo)) == 2 * len(responses)
        ),
        what="every batch run twice and every answer classified by the two workers",
        logs=cluster,
    )
    assert_each_classified_once(responses, probe.predictions(), per_response=ROWS)
    assert set(rows_of(responses).values_list("attempts", flat=True)) == {1}
    shares = probe.workers()
    assert set(shares) == {"alpha", "bravo"}, shares
    # Of the 24 deliveries, those that came second claimed nothing.
    claimed = [result["claimed"] for worker in (alpha, bravo) for result in _results(worker)]
    assert sum(claimed) == len(responses) * ROWS
    assert claimed.count(0) == len(responses)


def _results(worker: Process) -> list[dict[str, int]]:
    """The results of the classify_batch runs the worker logged."""
    return [
        ast.literal_eval(match)
        for match in re.findall(
            r"classifier\.tasks\.classify_batch\[[^\]]+\] succeeded in [^:]+: (\{[^}]*\})",
            worker.text(),
        )
    ]
