"""`python -m credcheck …`: the same as the `credcheck` command (credcheck.entry)."""

import sys

from credcheck.entry import main

sys.exit(main())
