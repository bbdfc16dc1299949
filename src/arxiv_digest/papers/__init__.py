"""The domain: models, arXiv ids, taxonomy, arXiv client, translation, summaries, digests.

No chat framework and no SQLAlchemy is imported here.
"""
