#!/usr/bin/env python
"""Django's manage.py; `joinedup` is the same command with a few of our own on top."""

import sys

from joinedup.cli import main

if __name__ == "__main__":
    sys.exit(main())
