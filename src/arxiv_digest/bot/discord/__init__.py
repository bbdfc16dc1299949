"""The Discord adapter: discord.py slash commands over ``bot.commands`` and a ``Sink`` for deliveries."""
