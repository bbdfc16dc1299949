"""arxiv-digest: daily arXiv announcements, translated, delivered to Telegram and Discord chats."""

__version__ = "0.1.0"
