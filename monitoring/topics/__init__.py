"""Topics: what stored posts become.

Near-duplicate grouping, the matches of the watch rules clustered into topics, the
completion of stored posts, topic figures, detection (alerts, proposals, feeding
incidents) and the decisions on proposals. Builds on ``monitoring.intake`` and
``monitoring.text``.
"""
