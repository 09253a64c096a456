"""`python -m scripts.demo_data`: write the demo source files."""
import sys

from scripts.demo_data import main

sys.exit(main())
