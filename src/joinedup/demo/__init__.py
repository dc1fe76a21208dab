"""The demo: federations, identities and synthetic history for showing and testing Joinedup.

A Django app at the top of the import order. It imports the platform's apps; none of them
imports it. Only `joinedup demo` (`make demo`), `joinedup generate-history`, the tests and
the benchmarks use it. See docs/demo.md.

    launch.py      `joinedup demo`: prepare the database and run the processes
    loading.py     where the demo's data files are, and loading them into the platform
    identities.py  the demo people, their accounts and proofs, and staff of several agencies
    history/       synthetic history: a registry of generators run in order
    data/          the data files (federations, service versions and processes, bundles)
"""
