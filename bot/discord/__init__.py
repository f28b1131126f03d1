"""`attache discord`: the Discord front end. Parses, calls the one service object, renders.

- `client`: the discord.py client, start-up and `run_bot`;
- `commands`: the slash commands; `messages`: @mentions and thread follow-ups;
- `gate`: cooldowns and caps on questions in flight;
- `views`: the passage buttons; `format`: messages within Discord's limits.
"""
