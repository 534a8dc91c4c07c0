"""Announcements other apps listen to; surveys never imports its listeners."""

from django.dispatch import Signal

# Sent on commit once a response is complete: kwargs response_id, survey_id, answer_ids (its answers
# with a text: to questions flagged for classification, and "other, please specify" texts).
response_completed = Signal()
# Sent on commit once a respondent has withdrawn a response (it is deleted): kwarg survey_id. Export
# files written before hold its answers, so exports deletes them.
response_withdrawn = Signal()
