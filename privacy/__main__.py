"""``python -m privacy --help``: retention and erasure of personal data."""
import sys

from privacy.cli import main

sys.exit(main())
