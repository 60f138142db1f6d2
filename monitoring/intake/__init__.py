"""Intake: posts coming in, judged and stored once each.

Batches (the API's, and those of the two sources below), RSS/Atom feeds polled on a
schedule, and CSV/Excel imports run in the background. Builds on ``monitoring.text``;
grouping, matching and topics (``monitoring.topics``) complete what it stores.
"""
