"""``python -m datalake --help``: retention and erasure of personal data."""
import sys

from datalake.cli import main

sys.exit(main())
