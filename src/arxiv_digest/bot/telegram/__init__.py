"""The Telegram adapter: python-telegram-bot handlers over ``bot.commands`` and a ``Sink`` for deliveries."""
