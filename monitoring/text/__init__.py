"""Text analysis: what is read off a post's text, and the rules and term lists read with it.

Segmentation (jieba's tokens, cut by jieba-rs), the watch-rule language and the process's
compiled rule set, sentiment, sensitive-term lists, SimHash, and the warm-up of a worker.
It imports nothing else of monitoring but its models; the intake and topics build on it.
"""
