"""`textfiles sync DIR`: keep a folder and the service in step (docs/cli.md, "sync").

state.py (what the last sync saw, in DIR/.textfiles-sync.json), scan.py (the folder now),
remote.py (the service now: the change feed, or a full listing), plan.py (what to do, a pure
function of the three), apply.py (doing it, one recorded step at a time), run.py (the command:
passes, --watch, --dry-run, output).
"""
