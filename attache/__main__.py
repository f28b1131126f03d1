"""`python -m attache`: the same command line as `attache`."""

from attache.bot.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
