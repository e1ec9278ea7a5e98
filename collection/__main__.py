"""``python -m collection --help``"""
import sys

from collection.cli import main

sys.exit(main())
