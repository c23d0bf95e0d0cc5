"""The hot path's hand-built statements store and load what the ORM would."""

import uuid

import pytest
from django.db import transaction
from django.forms.models import model_to_dict
from django.utils import timezone

from workflows import services
from workflows.models import Event, Execution, TaskAttempt
from workflows.services import statements

from .conftest import TASK_FLOW

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def execution(make_flow, broker):
    execution, _ = services.start_execution(make_flow(TASK_FLOW), {"x": [1, "two", None]})
    return execution


NOW = timezone.now()


def event(execution, seq, details, now=NOW):
    return Event(
        execution=execution,
        seq=seq,
        type="X",
        timestamp=now,
        state="S",
        status="s",
        details=details,
    )


def test_insert_sets_each_object_s_primary_key(execution):
    rows = [event(execution, 100, {}), event(execution, 101, {})]
    statements.insert(rows)
    assert [Event.objects.get(pk=r.pk).seq for r in rows] == [100, 101]


def test_insert_stores_the_values_bulk_create_would(execution):
    details = {"nested": {"list": [1, 2.5, None, True]}, "text": "é\n"}
    mine, theirs = event(execution, 100, details), event(execution, 101, details)
    statements.insert([mine])
    Event.objects.bulk_create([theirs])
    stored = {
        e.seq: model_to_dict(e, exclude=["id", "seq"]) for e in Event.objects.filter(seq__gte=100)
    }
    assert stored[100] == stored[101]


def test_update_changes_only_a_row_that_matches_its_conditions(execution):
    attempt = TaskAttempt.objects.get(execution=execution)
    claim = uuid.uuid4()
    assert statements.update(TaskAttempt, attempt.pk, {"error": "E"}, {"claim": claim}) == 0
    TaskAttempt.objects.filter(pk=attempt.pk).update(claim=claim)
    assert statements.update(TaskAttempt, attempt.pk, {"error": "E"}, {"claim": claim}) == 1
    assert TaskAttempt.objects.get(pk=attempt.pk).error == "E"


def test_update_writes_json_null_as_sql_null_like_the_orm(execution):
    statements.update(Execution, execution.pk, {"output": None})
    assert Execution.objects.filter(pk=execution.pk, output__isnull=True).exists()


def test_select_for_update_loads_what_the_orm_loads(execution):
    with transaction.atomic():
        mine = statements.select_for_update(Execution, execution.pk)
    theirs = Execution.objects.get(pk=execution.pk)
    assert model_to_dict(mine) == model_to_dict(theirs)
    assert (mine.started_at, mine.next_seq) == (theirs.started_at, theirs.next_seq)


def test_select_for_update_of_a_missing_row_is_none(db):
    with transaction.atomic():
        assert statements.select_for_update(Execution, uuid.uuid4()) is None


def test_update_conditions_on_none_match_a_null_column(execution):
    attempt = TaskAttempt.objects.get(execution=execution)
    assert statements.update(TaskAttempt, attempt.pk, {"error": "E"}, {"claim": None}) == 1


def test_get_loads_what_the_orm_loads(execution):
    attempt = TaskAttempt.objects.get(execution=execution)
    assert model_to_dict(statements.get(TaskAttempt, attempt.pk)) == model_to_dict(attempt)


def test_insert_of_more_rows_than_one_statement_takes_sets_every_key(execution):
    rows = [event(execution, 100 + i, {"i": i}) for i in range(statements.BATCH * 2 + 3)]
    statements.insert(rows)
    assert len({r.pk for r in rows}) == len(rows)
    assert Event.objects.filter(seq__gte=100).count() == len(rows)
