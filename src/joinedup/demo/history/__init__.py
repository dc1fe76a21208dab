"""Synthetic history: realistic records of past years, for demonstrations, tests and benchmarks.

`joinedup generate-history --transactions N` (or `run.generate_history(N)`) runs every
registered generator in order, each with the same `HistoryRun`: the span of days, one seeded
random generator (a run can be repeated), the command's options and what the generators
before it wrote. The generators of today, by order:

    10 costs         illustrative unit costs and staff rates, when none are set
    15 place-areas   places classed rural or urban, when none is (transactions.py)
    20 transactions  the transactions themselves (transactions.py)
    30 overheads     illustrative monthly overheads per agency (overheads.py)
    40 surveys       survey answers that follow timeliness (surveys.py)
    90 rollups       the monthly rollups, rebuilt from the facts (rollups.py)
    95 rosters       a roster file of agents per office, near the forecast's needs (rosters.py)

To add one (client groups, places, pilots, handle times...): write a module here with a
function decorated by `@generator("name", order=N)` that takes the `HistoryRun` and returns
how many records it wrote, and add the module to `HISTORY_GENERATORS` in `../apps.py` (the
app's `ready()` imports them; the registry imports none). A generator that needs options of
its own gives `arguments=` a function that adds them to the command's parser; it finds their
values in `run.options`. Nothing in the platform's apps changes: a generator writes the
apps' records through their models, and reads what earlier generators left in `run.shared`.
"""
